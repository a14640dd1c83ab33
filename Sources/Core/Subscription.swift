import Foundation
import Synchronization

/// One watcher's bounded queue of events. Publishers never wait on it: when the queue
/// is full the event is dropped for this watcher, and a watcher whose queue stays full
/// for longer than the send timeout is disconnected (`endedBecauseSlow`).
public final class Subscription: Sendable {
  public let events: AsyncStream<Event>
  let id: UInt64
  let filter: EventFilter
  private let continuation: AsyncStream<Event>.Continuation
  private let sendTimeout: Duration
  private let isOverflowing = Atomic<Bool>(false)
  private let overflowSince = Mutex<Date?>(nil)
  private let slow = Atomic<Bool>(false)

  init(id: UInt64, filter: EventFilter, capacity: Int, sendTimeout: Duration) {
    self.id = id
    self.filter = filter
    self.sendTimeout = sendTimeout
    (events, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingOldest(capacity))
  }

  /// True when the server ended this stream because its consumer fell behind.
  public var endedBecauseSlow: Bool { slow.load(ordering: .relaxed) }

  func onTermination(_ action: @escaping @Sendable () -> Void) {
    continuation.onTermination = { _ in action() }
  }

  func offer(_ event: Event, now: Date) {
    switch continuation.yield(event) {
    case .enqueued:
      if isOverflowing.load(ordering: .relaxed) {
        isOverflowing.store(false, ordering: .relaxed)
        overflowSince.withLock { $0 = nil }
      }
    case .dropped:
      isOverflowing.store(true, ordering: .relaxed)
      let since = overflowSince.withLock { since in
        if since == nil { since = now }
        return since!
      }
      if now.timeIntervalSince(since) >= sendTimeout.timeInterval {
        slow.store(true, ordering: .relaxed)
        continuation.finish()
      }
    case .terminated:
      break
    @unknown default:
      break
    }
  }

  /// Ends the stream (server shutdown, or the watcher went away).
  public func finish() { continuation.finish() }
}
