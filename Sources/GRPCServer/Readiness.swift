import Synchronization

/// Where the server is in its life, for the health endpoints: `/readyz` answers 200 only
/// while `ready`; `/healthz` answers 200 until a graceful shutdown starts.
public final class Readiness: Sendable {
  public enum State: Sendable, Equatable {
    /// Restoring or binding listeners.
    case starting
    case ready
    /// A graceful shutdown has started: load balancers should stop sending requests.
    case draining
  }

  private let current = Mutex(State.starting)

  public init() {}

  public var state: State { current.withLock { $0 } }

  public func markReady() {
    current.withLock { if $0 == .starting { $0 = .ready } }
  }

  public func markDraining() {
    current.withLock { $0 = .draining }
  }
}
