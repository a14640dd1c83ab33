import Synchronization

/// Where the server is in its life, for the health endpoints: `/readyz` and gRPC health
/// answer serving only while `ready`; `/healthz` answers 200 until a graceful shutdown starts.
public final class Readiness: Sendable {
  public enum State: Sendable, Equatable {
    /// Restoring or binding listeners.
    case starting
    case ready
    /// A graceful shutdown has started: load balancers should stop sending requests.
    case draining
  }

  private struct Shared {
    var state = State.starting
    var watchers: [Int: AsyncStream<State>.Continuation] = [:]
    var nextWatcher = 0
  }

  private let shared = Mutex(Shared())

  public init() {}

  public var state: State { shared.withLock { $0.state } }

  public func markReady() {
    change { $0 == .starting ? .ready : $0 }
  }

  public func markDraining() {
    change { _ in .draining }
  }

  /// The current state at once, then each change; ends after `draining`.
  public func changes() -> AsyncStream<State> {
    let (stream, continuation) = AsyncStream.makeStream(of: State.self)
    let id = shared.withLock { shared in
      shared.nextWatcher += 1
      return shared.nextWatcher
    }
    continuation.onTermination = { [weak self] _ in _ = self?.shared.withLock { $0.watchers.removeValue(forKey: id) } }
    let state = shared.withLock { shared in
      if shared.state != .draining { shared.watchers[id] = continuation }
      continuation.yield(shared.state)
      return shared.state
    }
    if state == .draining { continuation.finish() }
    return stream
  }

  /// Continuations are finished outside the lock: finishing runs their `onTermination`,
  /// which takes the lock.
  private func change(_ next: (State) -> State) {
    let (new, watchers) = shared.withLock { shared in
      let new = next(shared.state)
      guard new != shared.state else { return (new, [AsyncStream<State>.Continuation]()) }
      shared.state = new
      let watchers = Array(shared.watchers.values)
      for watcher in watchers { watcher.yield(new) }
      if new == .draining { shared.watchers.removeAll() }
      return (new, watchers)
    }
    if new == .draining { for watcher in watchers { watcher.finish() } }
  }
}
