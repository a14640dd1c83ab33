import Foundation

/// A stored key's metadata; it lives in the key's `KeyRecord` with the value's bytes,
/// guarded by the shard's lock, and is read out as a copy.
struct Entry {
  var contentType: String
  var hash: UInt64
  var version: UInt64
  let created: Date
  let createdBy: String
  /// Lock and lifespan, which most keys never have, live in a box of their own.
  private var extras: Extras?
  var updated: Date?
  /// Reserved keys are readable but never counted, pruned, cleared or snapshotted.
  let isReserved: Bool

  init(
    contentType: String, hash: UInt64, version: UInt64, created: Date, updated: Date?,
    createdBy: String, lock: LockState?, lifespan: Lifespan?, isReserved: Bool
  ) {
    (self.contentType, self.hash, self.version) = (contentType, hash, version)
    (self.created, self.updated, self.createdBy, self.isReserved) = (created, updated, createdBy, isReserved)
    extras = Extras.make(lock: lock, lifespan: lifespan)
  }

  var lock: LockState? {
    get { extras?.lock }
    set { extras = Extras.make(lock: newValue, lifespan: lifespan) }
  }

  var lifespan: Lifespan? {
    get { extras?.lifespan }
    set { extras = Extras.make(lock: lock, lifespan: newValue) }
  }

  func isLocked(against client: String) -> Bool {
    if let lock, lock.owner != client { return true }
    return false
  }
}

/// An entry's lock and lifespan; immutable, replaced whole when either changes.
private final class Extras: Sendable {
  let lock: LockState?
  let lifespan: Lifespan?

  private init(lock: LockState?, lifespan: Lifespan?) {
    (self.lock, self.lifespan) = (lock, lifespan)
  }

  static func make(lock: LockState?, lifespan: Lifespan?) -> Extras? {
    lock == nil && lifespan == nil ? nil : Extras(lock: lock, lifespan: lifespan)
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
public struct Revision: Sendable, Equatable {
  public let version: UInt64
  public let value: Data
  public let contentType: String
  public let hash: UInt64
  public let recorded: Date

  public init(version: UInt64, value: Data, contentType: String, hash: UInt64, recorded: Date) {
    (self.version, self.value, self.contentType, self.hash, self.recorded) = (version, value, contentType, hash, recorded)
  }
}

/// Lifetime counters of a key name; they survive deletion, expiry and pruning.
/// Times are kept as nanoseconds since 1970 (0 = never), half the size of `Date?`,
/// because there is one of these per key name ever seen.
public struct KeyMetric: Sendable, Equatable {
  public var accessCount: UInt64 = 0
  public var setCount: UInt64 = 0
  public var lockCount: UInt64 = 0
  private var times = (firstAccessed: Int64(0), lastAccessed: Int64(0), firstSet: Int64(0),
    lastSet: Int64(0), firstLocked: Int64(0), lastLocked: Int64(0))

  public init() {}

  public var firstAccessed: Date? {
    get { UnixNanos.date(times.firstAccessed) }
    set { times.firstAccessed = UnixNanos.from(newValue) }
  }
  public var lastAccessed: Date? {
    get { UnixNanos.date(times.lastAccessed) }
    set { times.lastAccessed = UnixNanos.from(newValue) }
  }
  public var firstSet: Date? {
    get { UnixNanos.date(times.firstSet) }
    set { times.firstSet = UnixNanos.from(newValue) }
  }
  public var lastSet: Date? {
    get { UnixNanos.date(times.lastSet) }
    set { times.lastSet = UnixNanos.from(newValue) }
  }
  public var firstLocked: Date? {
    get { UnixNanos.date(times.firstLocked) }
    set { times.firstLocked = UnixNanos.from(newValue) }
  }
  public var lastLocked: Date? {
    get { UnixNanos.date(times.lastLocked) }
    set { times.lastLocked = UnixNanos.from(newValue) }
  }

  public static func == (lhs: KeyMetric, rhs: KeyMetric) -> Bool {
    lhs.accessCount == rhs.accessCount && lhs.setCount == rhs.setCount
      && lhs.lockCount == rhs.lockCount && lhs.times == rhs.times
  }

  mutating func record(_ kind: KeyEvent, at time: Date) {
    let now = UnixNanos.from(time)
    switch kind {
    case .created, .updated:
      setCount += 1
      if times.firstSet == 0 { times.firstSet = now }
      times.lastSet = max(times.lastSet, now)
    case .locked:
      lockCount += 1
      if times.firstLocked == 0 { times.firstLocked = now }
      times.lastLocked = max(times.lastLocked, now)
    case .accessed:
      accessCount += 1
      if times.firstAccessed == 0 { times.firstAccessed = now }
      times.lastAccessed = max(times.lastAccessed, now)
    default:
      break
    }
  }
}

/// Times as nanoseconds since 1970, 0 meaning "none": half the size of `Date?`, used by
/// key metrics and by the snapshot format. Times past 2262 (a lock of a longest
/// `max_lock_duration`) saturate instead of trapping.
public enum UnixNanos {
  public static func from(_ date: Date?) -> Int64 {
    guard let date else { return 0 }
    let nanos = (date.timeIntervalSince1970 * 1e9).rounded()
    return nanos >= 0x1p63 ? .max : nanos < -0x1p63 ? .min : Int64(nanos)
  }

  public static func date(_ nanos: Int64) -> Date? {
    nanos == 0 ? nil : Date(timeIntervalSince1970: Double(nanos) / 1e9)
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
