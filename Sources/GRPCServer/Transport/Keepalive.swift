import NIOCore

/// Finds dead peers (a watch can be silent for hours) without a timer per read: a tick
/// every `interval` pings a connection that has been silent since the last tick, and
/// closes one that leaves the ping unanswered for `timeout`.
struct Keepalive {
  static let interval = TimeAmount.seconds(10)
  static let timeout = TimeAmount.seconds(60)

  enum Action {
    case none
    case ping
    case close
  }

  /// Set on every read; a ping's answer is a read too.
  var heardFrom = true
  private var pingSent: NIODeadline?

  mutating func tick(now: NIODeadline) -> Action {
    if heardFrom {
      heardFrom = false
      pingSent = nil
      return .none
    }
    if let pingSent { return now - pingSent >= Self.timeout ? .close : .none }
    pingSent = now
    return .ping
  }
}
