import Foundation
import Synchronization

/// The earliest deadline among every shard's timers (or later: stale timers count), so
/// that a sweep with nothing due locks no shard, and a store without timers has its
/// sweeper wait instead of waking 50 times a second.
final class NextExpiry: Sendable {
  private let nanos = Atomic<Int64>(.max)
  private let sleeper = Mutex<CheckedContinuation<Void, Never>?>(nil)

  /// A timer was scheduled (under its shard's lock); the first one wakes the sweeper.
  func lower(to deadline: Date) {
    let value = UnixNanos.from(deadline)
    // Most deadlines come after the earliest: a load leaves the shared cache line unwritten.
    guard value < nanos.load(ordering: .relaxed) else { return }
    let (old, _) = nanos.min(value, ordering: .relaxed)
    if old == .max { wake() }
  }

  /// Whether a timer may be due at `now`. `UnixNanos` rounds monotonically, so a due
  /// deadline always reads as due.
  func isDue(at now: Date) -> Bool { nanos.load(ordering: .relaxed) <= UnixNanos.from(now) }

  /// Before a sweep, which lowers it again to each shard's earliest remaining timer. A
  /// timer scheduled meanwhile either lowers it after this or is found in its heap.
  func reset() { nanos.store(.max, ordering: .relaxed) }

  /// Returns once there may be a timer (at once if there is), or the task is cancelled.
  func waitForTimers() async {
    await withTaskCancellationHandler {
      await withCheckedContinuation { continuation in
        // Checked under the lock that `wake` takes after lowering: no wake-up is lost.
        let now = sleeper.withLock { sleeper in
          guard nanos.load(ordering: .relaxed) == .max, !Task.isCancelled else { return true }
          sleeper = continuation
          return false
        }
        if now { continuation.resume() }
      }
    } onCancel: {
      wake()
    }
  }

  private func wake() { sleeper.withLock { $0.take() }?.resume() }
}
