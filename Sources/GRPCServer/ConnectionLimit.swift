import HummingbirdCore
import Logging
import Metrics
import Synchronization

/// The connections one listener keeps open at most (`max_connections`). At the limit the
/// listener stops accepting: new connections wait in the kernel's backlog, costing no CPU,
/// until one closes. The pause is logged (at most once every 10 s) and counted in
/// `keyquarry_accept_paused_total`; `keyquarry_connections` shows the open ones.
public final class ConnectionLimit: Sendable {
  private let maximum: Int
  private let listener: String
  private let logger: Logger
  private let state = Mutex<(open: Int, paused: Bool, lastLogged: ContinuousClock.Instant?)>((0, false, nil))
  private let openGauge: Gauge
  private let pauses: Counter

  public init(maximum: Int, listener: String, logger: Logger) {
    self.maximum = maximum
    self.listener = listener
    self.logger = logger
    openGauge = Gauge(label: "keyquarry_connections", dimensions: [("listener", listener)])
    pauses = Counter(label: "keyquarry_accept_paused_total", dimensions: [("listener", listener)])
  }

  /// Hummingbird's and the gRPC listener's server-channel handler: it asks before each accept.
  public var delegate: some AvailableConnectionsDelegate { Delegate(limit: self) }

  private struct Delegate: AvailableConnectionsDelegate {
    let limit: ConnectionLimit
    func connectionOpened() { limit.count(+1) }
    func connectionClosed() { limit.count(-1) }
    func isAcceptingNewConnections() -> Bool { limit.admits() }
  }

  private func count(_ change: Int) {
    let open = state.withLock { state in
      state.open += change
      if state.open < maximum { state.paused = false }
      return state.open
    }
    openGauge.record(open)
  }

  /// Whether another connection may be accepted now. The first refusal of a pause is
  /// counted, and logged unless one was within 10 s.
  private func admits() -> Bool {
    let now = ContinuousClock.now
    let (admits, pausing, log) = state.withLock { state -> (Bool, Bool, Bool) in
      guard state.open >= maximum else { return (true, false, false) }
      guard !state.paused else { return (false, false, false) }
      state.paused = true
      let log = state.lastLogged.map { now - $0 >= .seconds(10) } ?? true
      if log { state.lastLogged = now }
      return (false, true, log)
    }
    if pausing { pauses.increment() }
    if log {
      logger.warning(
        "connection limit reached: not accepting until a connection closes",
        metadata: ["listener": "\(listener)", "max_connections": "\(maximum)"])
    }
    return admits
  }
}
