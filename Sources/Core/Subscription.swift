import Foundation

/// What the event bus fans events out to.
protocol Subscriber: AnyObject, Sendable {
  var id: UInt64 { get }
  var filter: EventFilter { get }
  /// Never waits: an event that does not fit is dropped (`SlowWatcherRule`).
  func offer(_ event: Event, now: Date)
  /// The server ends the watch (shutdown).
  func finish()
}

/// One watcher's bounded queue of events, read as an `AsyncStream`. Publishers never
/// wait on it: when the queue is full the event is dropped for this watcher, and a
/// watcher whose queue stays full for longer than the send timeout is disconnected
/// (`endedBecauseSlow`).
public final class Subscription: Subscriber {
  public let events: AsyncStream<Event>
  let id: UInt64
  let filter: EventFilter
  private let continuation: AsyncStream<Event>.Continuation
  private let rule: SlowWatcherRule

  init(id: UInt64, filter: EventFilter, capacity: Int, sendTimeout: Duration) {
    self.id = id
    self.filter = filter
    rule = SlowWatcherRule(sendTimeout: sendTimeout)
    (events, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingOldest(capacity))
  }

  /// True when the server ended this stream because its consumer fell behind.
  public var endedBecauseSlow: Bool { rule.disconnected }

  func onTermination(_ action: @escaping @Sendable () -> Void) {
    continuation.onTermination = { _ in action() }
  }

  func offer(_ event: Event, now: Date) {
    switch continuation.yield(event) {
    case .enqueued:
      rule.accepted()
    case .dropped:
      if rule.refused(now: now) { continuation.finish() }
    case .terminated:
      break
    @unknown default:
      break
    }
  }

  /// Ends the stream (server shutdown, or the watcher went away).
  public func finish() { continuation.finish() }
}
