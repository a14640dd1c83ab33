import Foundation
import Synchronization

/// Where a pushed watch's events go: a connection that writes each event as it comes,
/// with no task waiting per watcher. Called on publishing threads, so it never waits.
public protocol EventSink: Sendable {
  /// What waits for the watcher (`Store.makeWatchBuffer()`): the sink releases each
  /// event's weight once the event has left (written to the socket, or dropped).
  var buffer: WatchBuffer { get }
  /// Queues `event`, which `buffer` has taken, for the watcher.
  func offer(_ event: Event)
  /// The server ended the watch: at shutdown, or (`slow`) by a slow-consumer rule.
  /// Comes after every event offered before it.
  func end(slow: Bool)
}

/// A watch whose events are pushed into an `EventSink`, under the same slow-consumer
/// rules as a `Subscription`.
public final class PushSubscription: Subscriber {
  let id: UInt64
  let filter: EventFilter
  private let sink: any EventSink
  private let removal: @Sendable () -> Void
  private let ended = Atomic<Bool>(false)

  init(id: UInt64, filter: EventFilter, sink: any EventSink, removal: @escaping @Sendable () -> Void) {
    self.id = id
    self.filter = filter
    self.sink = sink
    self.removal = removal
  }

  var buffer: WatchBuffer { sink.buffer }

  func offer(_ event: Event, now: Date) {
    guard !ended.load(ordering: .relaxed) else { return }
    switch buffer.admit(event, now: now) {
    case .taken: sink.offer(event)
    case .dropped: break
    case .tooSlow: end(slow: true)
    }
  }

  func finish() { end(slow: false) }

  func endSlow() {
    buffer.markSlow()
    buffer.retire()  // even when it was already ending: the total rule moves on to the next
    end(slow: true)
  }

  /// The watcher went away: no more events, and nothing more is said to the sink.
  public func cancel() {
    guard markEnded() else { return }
    buffer.retire()
    removal()
  }

  private func end(slow: Bool) {
    guard markEnded() else { return }
    if slow { buffer.retire() }
    removal()
    sink.end(slow: slow)
  }

  private func markEnded() -> Bool {
    ended.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged
  }
}
