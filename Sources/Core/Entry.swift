import Foundation

/// A stored key: its value and metadata. Lives inside a shard, guarded by its lock.
struct Entry {
  var value: Data
  var contentType: String
  var hash: UInt64
  var version: UInt64
  let created: Date
  var updated: Date?
  let createdBy: String
  var lock: LockState?
  var lifespan: Lifespan?
  /// Reserved keys are readable but never counted, pruned, cleared or snapshotted.
  let isReserved: Bool

  func isLocked(against client: String) -> Bool {
    if let lock, lock.owner != client { return true }
    return false
  }

  var snapshot: ValueSnapshot {
    ValueSnapshot(
      value: value, contentType: contentType, hash: hash, version: version,
      lockOwner: lock?.owner)
  }
}

struct LockState {
  let owner: String
  let created: Date
  var expires: Date
}

struct Lifespan {
  var duration: Duration
  /// When the lifespan was last set or renewed; the key expires at `set + duration`.
  var setAt: Date
  var expires: Date { setAt + duration }
}

/// One retained version of a key's value.
public struct Revision: Sendable {
  public let version: UInt64
  public let value: Data
  public let contentType: String
  public let hash: UInt64
  public let recorded: Date
}

/// Lifetime counters of a key name; they survive deletion, expiry and pruning.
public struct KeyMetric: Sendable, Equatable {
  public var accessCount: UInt64 = 0
  public var firstAccessed: Date?
  public var lastAccessed: Date?
  public var setCount: UInt64 = 0
  public var firstSet: Date?
  public var lastSet: Date?
  public var lockCount: UInt64 = 0
  public var firstLocked: Date?
  public var lastLocked: Date?

  public init() {}

  mutating func record(_ kind: KeyEvent, at time: Date) {
    switch kind {
    case .created, .updated:
      setCount += 1
      firstSet = firstSet ?? time
      lastSet = max(lastSet ?? time, time)
    case .locked:
      lockCount += 1
      firstLocked = firstLocked ?? time
      lastLocked = max(lastLocked ?? time, time)
    case .accessed:
      accessCount += 1
      firstAccessed = firstAccessed ?? time
      lastAccessed = max(lastAccessed ?? time, time)
    default:
      break
    }
  }
}

/// A pending lifespan or lock expiry. Stale timers (the key was renewed, unlocked or
/// removed since) are recognised by their deadline no longer matching and skipped.
struct Timer: Comparable {
  enum Kind { case lifespan, lock }
  let deadline: Date
  let key: String
  let kind: Kind

  static func < (lhs: Timer, rhs: Timer) -> Bool { lhs.deadline < rhs.deadline }
  static func == (lhs: Timer, rhs: Timer) -> Bool {
    lhs.deadline == rhs.deadline && lhs.key == rhs.key && lhs.kind == rhs.kind
  }
}
