import Foundation

/// What Inspect reports about a key.
public struct KeyInfo: Sendable {
  public let key: String
  public let hash: UInt64
  public let created: Date
  public let updated: Date?
  public let version: UInt64
  public let size: Int
  public let locked: Bool
  public let lifespan: Duration?
  public let lifespanSet: Date?
  public let contentType: String
  public let value: Data?
  public let metrics: KeyMetric?
}

/// Server-wide numbers (the Stats RPC).
public struct StoreStats: Sendable {
  public let keys: Int
  public let totalSize: Int
  public let currentLocks: Int
  public let clientIDs: Int
  public let lifespans: Int
  public let eventSubscribers: Int
  public let snapshotsCreated: Int
  public let snapshotsFailed: Int
  public let eagerPruneTriggered: Int
  public let pruneCompleted: Int
  public let events: [KeyEvent: UInt64]
  public let maxKeys: Int
  public let historyKeys: Int
  public let historyRevisions: Int
  /// Bytes waiting for watchers (`WatchBudget`), and the watchers the slow-consumer rules ended.
  public let watchBufferBytes: Int
  public let slowWatchersEnded: Int
  /// Bytes the allocator has handed out (`MemoryLimit`), and `max_memory` (0: none).
  public let memoryUsed: Int
  public let maxMemory: Int
  public let journal: JournalFigures?

  /// memory used / max_memory rounded to two decimals; 0 without a limit.
  public var memoryPressure: Float {
    maxMemory == 0 ? 0 : (Float(memoryUsed) / Float(maxMemory) * 100).rounded() / 100
  }

  /// keys / max_keys rounded to two decimals; 0 without a limit.
  public var pressure: Float {
    maxKeys == 0 ? 0 : (Float(keys) / Float(maxKeys) * 100).rounded() / 100
  }
}
