import Foundation

/// One state change (or read) of a key, as delivered to watchers.
public struct Event: Sendable {
  /// Server-wide, strictly increasing; used for SSE ids and resume.
  public let sequence: UInt64
  public let key: String
  public let kind: KeyEvent
  public let time: Date
  public let clientID: String
  /// The key as it was right after the event (for removals: right before), so that
  /// value watchers never re-read a newer state. Nil for events that carry no value
  /// (ACCESSED, LOCKED, LIFESPAN_*, and the UNLOCKED of a key that expired).
  public let snapshot: ValueSnapshot?
}

/// A stored value as it was at one moment; its bytes are copied once per event, shared by
/// the event's watchers.
public struct ValueSnapshot: Sendable {
  public let value: Data
  public let contentType: String
  public let hash: UInt64
  public let version: UInt64
  /// The lock owner at the time of the snapshot, if the key was locked.
  public let lockOwner: String?

  /// A value kept from a watcher: nothing but whose lock kept it.
  static func withheld(lockOwner: String?) -> ValueSnapshot {
    ValueSnapshot(value: Data(), contentType: "", hash: 0, version: 0, lockOwner: lockOwner)
  }

  /// Whether `client` may read this value (not locked by somebody else).
  public func isReadable(by client: String) -> Bool {
    lockOwner == nil || lockOwner == client
  }
}
