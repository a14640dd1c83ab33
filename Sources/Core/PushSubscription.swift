import Foundation
import Synchronization

/// Where a pushed watch's events go: a connection that writes each event as it comes,
/// with no task waiting per watcher. Called on publishing threads, so it never waits.
public protocol EventSink: Sendable {
  /// Queues `event` for the watcher, or returns false when its queue is full.
  func offer(_ event: Event) -> Bool
  /// The server ended the watch: at shutdown, or (`slow`) by the slow-consumer rule.
  /// Comes after every event offered before it.
  func end(slow: Bool)
}

/// A watch whose events are pushed into an `EventSink`, under the same slow-consumer
/// rule as a `Subscription`.
public final class PushSubscription: Subscriber {
  let id: UInt64
  let filter: EventFilter
  private let sink: any EventSink
  private let rule: SlowWatcherRule
  private let removal: @Sendable () -> Void
  private let ended = Atomic<Bool>(false)

  init(
    id: UInt64, filter: EventFilter, sink: any EventSink, sendTimeout: Duration,
    removal: @escaping @Sendable () -> Void
  ) {
    self.id = id
    self.filter = filter
    self.sink = sink
    rule = SlowWatcherRule(sendTimeout: sendTimeout)
    self.removal = removal
  }

  func offer(_ event: Event, now: Date) {
    guard !ended.load(ordering: .relaxed) else { return }
    if sink.offer(event) {
      rule.accepted()
    } else if rule.refused(now: now) {
      end(slow: true)
    }
  }

  func finish() { end(slow: false) }

  /// The watcher went away: no more events, and nothing more is said to the sink.
  public func cancel() {
    if markEnded() { removal() }
  }

  private func end(slow: Bool) {
    guard markEnded() else { return }
    removal()
    sink.end(slow: slow)
  }

  private func markEnded() -> Bool {
    ended.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged
  }
}
