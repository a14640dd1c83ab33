import DequeModule
import Foundation
import Synchronization

/// What the event bus fans events out to.
protocol Subscriber: AnyObject, Sendable {
  var id: UInt64 { get }
  var filter: EventFilter { get }
  /// What waits for the watcher, against its limits.
  var buffer: WatchBuffer { get }
  /// Never waits: an event that does not fit is dropped, or ends the watcher (`WatchBuffer`).
  func offer(_ event: Event, now: Date)
  /// The server ends the watch (shutdown).
  func finish()
  /// The server ends the watch because it is the slowest past `watch_buffer_total`.
  func endSlow()
}

/// One watcher's bounded queue of events, read as `events`. Publishers never wait on it:
/// the queue follows the watcher's `WatchBuffer` limits, and a watcher ended by them
/// (`endedBecauseSlow`) loses what was still queued at once.
public final class Subscription: Subscriber {
  let id: UInt64
  let filter: EventFilter
  let buffer: WatchBuffer
  private let removal: @Sendable () -> Void
  private let state = Mutex(State())

  private struct State {
    var queue = Deque<Event>()
    /// The reader waiting for the next event.
    var reader: CheckedContinuation<Event?, Never>?
    var finished = false
  }

  init(id: UInt64, filter: EventFilter, buffer: WatchBuffer, removal: @escaping @Sendable () -> Void) {
    self.id = id
    self.filter = filter
    self.buffer = buffer
    self.removal = removal
  }

  /// The events, in order, until the watch ends. One reader at a time.
  public var events: Events { Events(subscription: self) }

  /// True when the server ended this stream because its consumer fell behind.
  public var endedBecauseSlow: Bool { buffer.endedBecauseSlow }

  func offer(_ event: Event, now: Date) {
    enum Outcome { case none, handed(CheckedContinuation<Event?, Never>), slow }
    let outcome = state.withLock { state -> Outcome in
      guard !state.finished else { return .none }
      if let reader = state.reader {
        state.reader = nil
        return .handed(reader)
      }
      switch buffer.admit(event, now: now) {
      case .taken: state.queue.append(event)
      case .dropped: break
      case .tooSlow: return .slow
      }
      return .none
    }
    switch outcome {
    case .none: break
    case .handed(let reader): reader.resume(returning: event)
    case .slow: end(dropping: true)
    }
  }

  /// Ends the stream: the reader gets what is queued, then the end (server shutdown).
  public func finish() { end(dropping: false) }

  /// The watcher went away, or it is too slow: nothing queued is delivered.
  public func cancel() { end(dropping: true) }

  func endSlow() {
    buffer.markSlow()
    end(dropping: true)
  }

  private func end(dropping: Bool) {
    let (reader, first, _) = state.withLock { state in
      let first = !state.finished
      state.finished = true
      let reader = state.reader
      state.reader = nil
      // Freed once out of the lock.
      var dropped = Deque<Event>()
      if dropping { swap(&dropped, &state.queue) }
      return (reader, first, dropped)
    }
    reader?.resume(returning: nil)
    if dropping { buffer.retire() }
    if first { removal() }
  }

  /// The next event, or nil once the watch has ended and its queue is empty.
  fileprivate func next() async -> Event? {
    if let ready = state.withLock({ take(&$0) }) { return ready }
    return await withTaskCancellationHandler {
      await withCheckedContinuation { (reader: CheckedContinuation<Event?, Never>) in
        let ready = state.withLock { state -> Event?? in
          if let ready = take(&state) { return ready }
          state.reader = reader
          return .none
        }
        if let ready { reader.resume(returning: ready) }
      }
    } onCancel: {
      cancel()
    }
  }

  /// The first queued event (counted as sent), nil at the end, or `.none` to wait.
  private func take(_ state: inout State) -> Event?? {
    if let event = state.queue.popFirst() {
      buffer.release(buffer.weight(of: event))
      return .some(event)
    }
    return state.finished ? .some(nil) : .none
  }

  public struct Events: AsyncSequence, Sendable {
    let subscription: Subscription

    public struct AsyncIterator: AsyncIteratorProtocol {
      let subscription: Subscription
      public mutating func next() async -> Event? { await subscription.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(subscription: subscription) }
  }
}
