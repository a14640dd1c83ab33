import Foundation
import Synchronization

/// What one watcher has been given and not yet sent, against its limits — the
/// slow-consumer rules every watch follows, whatever its transport:
/// - more than `event_stream_buffer_size` events waiting: the event is dropped for this
///   watcher, and a watcher that keeps refusing events past `event_stream_send_timeout`
///   is ended;
/// - more than `watch_buffer_limit` bytes waiting: ended at once;
/// - more than `watch_buffer_soft_limit` bytes waiting for longer than
///   `watch_buffer_soft_time`: ended (Redis's `client-output-buffer-limit`);
/// - all watchers together past `watch_buffer_total`: the one with the most waiting is
///   ended first (`WatchBudget`).
/// Lock-free: called for every event and every watcher.
public final class WatchBuffer: Sendable {
  /// How a watcher's queue took an event.
  enum Admission {
    case taken
    /// Full: the event is dropped for this watcher, which may still catch up.
    case dropped
    /// The watcher is too slow and must be ended.
    case tooSlow
  }

  private let budget: WatchBudget
  /// Whether the queue keeps each event's value (a `Subscription` holds its `Event`s) or
  /// only what goes on the wire without it (a pushed watch holds encoded events).
  private let countsValues: Bool
  private let count = Atomic<Int>(0)
  /// Bytes waiting, with `retiredBit` set once the watcher is ended.
  private let bytes = Atomic<Int>(0)
  /// When the queue first refused an event / first went past the soft limit, in
  /// nanoseconds since the reference date; 0 when it is not.
  private let fullSince = Atomic<Int>(0)
  private let overSoftSince = Atomic<Int>(0)
  private let endedSlow = Atomic<Bool>(false)

  private static let retiredBit = 1 << 62

  init(budget: WatchBudget, countsValues: Bool) {
    self.budget = budget
    self.countsValues = countsValues
  }

  /// True once a slow-consumer rule has ended the watcher.
  public var endedBecauseSlow: Bool { endedSlow.load(ordering: .relaxed) }

  /// Bytes waiting to be sent.
  var waitingBytes: Int { bytes.load(ordering: .relaxed) & ~Self.retiredBit }
  var isRetired: Bool { bytes.load(ordering: .relaxed) & Self.retiredBit != 0 }

  /// What `event` weighs while it waits: its key, client id and (when kept) value, and a
  /// fixed part for the rest — measured: a queued `Event` about 100 bytes, a pushed
  /// event held back by a stalled connection about 250 (its write's queue entry, promise
  /// and callback; the encoded bytes are shared by the batch's watchers).
  public func weight(of event: Event) -> Int {
    var weight = (countsValues ? 96 : 256) + event.key.utf8.count + event.clientID.utf8.count
    if countsValues, let snapshot = event.snapshot {
      weight += snapshot.value.count + snapshot.contentType.utf8.count
    }
    return weight
  }

  /// Counts `event` as waiting, if the limits allow it; `now` is the event's time.
  func admit(_ event: Event, now: Date) -> Admission {
    let limits = budget.limits
    let time = Self.nanoseconds(now)
    if count.load(ordering: .relaxed) >= limits.capacity {
      return Self.exceeded(fullSince, at: time, for: limits.sendTimeout) ? end() : .dropped
    }
    Self.stop(fullSince)
    let weight = weight(of: event)
    let waiting = waitingBytes + weight
    if limits.hard > 0, waiting > limits.hard { return end() }
    if limits.soft > 0, waiting > limits.soft {
      if Self.exceeded(overSoftSince, at: time, for: limits.softTime) { return end() }
    } else {
      Self.stop(overSoftSince)
    }
    count.add(1, ordering: .relaxed)
    add(weight)
    return .taken
  }

  /// One event of `weight` has left (sent, or dropped with its stream).
  public func release(_ weight: Int) {
    count.subtract(1, ordering: .relaxed)
    // Back under the soft limit: its time starts again the next time it is passed.
    if add(-weight) <= budget.limits.soft { Self.stop(overSoftSince) }
  }

  /// The watcher is ended: what it still holds no longer counts toward the total, which
  /// is what lets the total rule end one watcher at a time.
  func retire() {
    let before = bytes.bitwiseOr(Self.retiredBit, ordering: .relaxed).oldValue
    guard before & Self.retiredBit == 0 else { return }
    budget.account(from: before, to: 0)
  }

  /// Marks the watcher as ended by a slow-consumer rule.
  func markSlow() {
    if endedSlow.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged {
      budget.countSlowWatcher()
    }
  }

  private func end() -> Admission {
    markSlow()
    return .tooSlow
  }

  /// Adds `delta` to the bytes waiting, and returns them.
  @discardableResult
  private func add(_ delta: Int) -> Int {
    let after = bytes.wrappingAdd(delta, ordering: .relaxed).newValue
    guard after & Self.retiredBit == 0 else { return after & ~Self.retiredBit }
    budget.account(from: after - delta, to: after)
    return after
  }

  /// Stops `since`. Read first: it is seldom running, and a store on every event would
  /// pull the line between the publisher's core and the event loop's.
  private static func stop(_ since: borrowing Atomic<Int>) {
    if since.load(ordering: .relaxed) != 0 { since.store(0, ordering: .relaxed) }
  }

  /// Starts `since` at `time` if it was not running; true once it has run for `duration`.
  private static func exceeded(_ since: borrowing Atomic<Int>, at time: Int, for duration: Duration) -> Bool {
    let started = since.compareExchange(expected: 0, desired: time, ordering: .relaxed)
    let start = started.exchanged ? time : started.original
    return time - start >= Int(duration.nanoseconds)
  }

  private static func nanoseconds(_ date: Date) -> Int {
    max(1, Int(date.timeIntervalSinceReferenceDate * 1e9))
  }
}
