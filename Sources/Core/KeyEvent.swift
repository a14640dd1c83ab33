/// What happened to a key. Raw values are the wire numbers of `keyquarry.KeyEvent`.
public enum KeyEvent: Int, Sendable, CaseIterable, Hashable {
  case noEvent = 0
  case created = 1
  case updated = 2
  case deleted = 3
  case expired = 4
  case locked = 5
  case unlocked = 6
  case expunged = 7
  case accessed = 8
  case lifespanSet = 9
  case lifespanRenewed = 10

  /// The proto enum name (`LIFESPAN_SET`), used by logs and SSE `event:` lines.
  public var name: String {
    switch self {
    case .noEvent: "NO_EVENT"
    case .created: "CREATED"
    case .updated: "UPDATED"
    case .deleted: "DELETED"
    case .expired: "EXPIRED"
    case .locked: "LOCKED"
    case .unlocked: "UNLOCKED"
    case .expunged: "EXPUNGED"
    case .accessed: "ACCESSED"
    case .lifespanSet: "LIFESPAN_SET"
    case .lifespanRenewed: "LIFESPAN_RENEWED"
    }
  }

  /// Events after which a key no longer exists.
  public var removesKey: Bool { self == .deleted || self == .expired || self == .expunged }
}
