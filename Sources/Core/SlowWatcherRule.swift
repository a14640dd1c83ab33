import Foundation
import Synchronization

/// The slow-consumer rule every watch follows: an event that does not fit the watcher's
/// queue is dropped for it, and a watcher whose queue has refused events for longer than
/// the send timeout is disconnected. No lock while events fit.
final class SlowWatcherRule: Sendable {
  private let sendTimeout: Duration
  private let isOverflowing = Atomic<Bool>(false)
  private let overflowSince = Mutex<Date?>(nil)
  private let slow = Atomic<Bool>(false)

  init(sendTimeout: Duration) { self.sendTimeout = sendTimeout }

  /// True once the rule has disconnected the watcher.
  var disconnected: Bool { slow.load(ordering: .relaxed) }

  /// The queue took an event.
  func accepted() {
    guard isOverflowing.load(ordering: .relaxed) else { return }
    isOverflowing.store(false, ordering: .relaxed)
    overflowSince.withLock { $0 = nil }
  }

  /// The queue refused an event at `now`; true when that ends the watch.
  func refused(now: Date) -> Bool {
    isOverflowing.store(true, ordering: .relaxed)
    let since = overflowSince.withLock { since in
      if since == nil { since = now }
      return since!
    }
    guard now.timeIntervalSince(since) >= sendTimeout.timeInterval else { return false }
    slow.store(true, ordering: .relaxed)
    return true
  }
}
