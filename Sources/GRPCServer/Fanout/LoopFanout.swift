import Core
import NIOCore
import Synchronization

/// Carries watch events from the publishing threads to the watchers of one event loop,
/// in batches: one wake-up of the loop, one encoding per event and one flush per
/// connection for a whole batch, instead of a task per watcher.
public final class LoopFanout: Sendable {
  /// What the next drain delivers. A publisher hands an event to all its watchers at once,
  /// so each distinct event is kept once and a watcher's item only points at it: a copy
  /// of an `Event` per watcher would retain and release its every string and value.
  fileprivate struct Batch {
    enum Item {
      case event(any FanoutDelivery, at: Int)
      case end(any FanoutDelivery, slow: Bool)
    }
    var events: [Event] = []
    var items: [Item] = []
  }

  /// A batch being drained, and how far: what a drain that ran out of time left for the
  /// next one, which delivers it before anything published since.
  fileprivate struct Backlog {
    var batch = Batch()
    var next = 0
    var isDone: Bool { next == batch.items.count }
  }

  /// How long one drain may hold the loop. A burst of events to many watchers is
  /// delivered in slices, with the loop's reads and writes in between: one drain of the
  /// events that four hundred stalled watchers were allowed to hold kept a Get waiting
  /// 400 ms.
  static let slice = TimeAmount.milliseconds(1)

  public let eventLoop: any EventLoop
  private let pending = Mutex(Batch())
  private let backlog: NIOLoopBoundBox<Backlog>
  private let turn: LoopTurn

  private init(eventLoop: any EventLoop) {
    self.eventLoop = eventLoop
    backlog = .makeBoxSendingValue(Backlog(), eventLoop: eventLoop)
    turn = LoopTurn(on: eventLoop)
  }

  private static let loops = Mutex<[ObjectIdentifier: LoopFanout]>([:])

  /// The fanout of `eventLoop`, shared by every watcher on it (gRPC and SSE alike). Kept
  /// for the life of the process, as the shared group's event loops are.
  public static func on(_ eventLoop: any EventLoop) -> LoopFanout {
    loops.withLock { loops in
      if let fanout = loops[ObjectIdentifier(eventLoop)] { return fanout }
      let fanout = LoopFanout(eventLoop: eventLoop)
      loops[ObjectIdentifier(eventLoop)] = fanout
      return fanout
    }
  }

  func send(_ event: Event, to delivery: any FanoutDelivery) {
    enqueue { batch in
      if batch.events.last?.sequence != event.sequence { batch.events.append(event) }
      batch.items.append(.event(delivery, at: batch.events.count - 1))
    }
  }

  func end(_ delivery: any FanoutDelivery, slow: Bool) { enqueue { $0.items.append(.end(delivery, slow: slow)) } }

  private func enqueue(_ add: (inout Batch) -> Void) {
    let first = pending.withLock { batch in
      add(&batch)
      return batch.items.count == 1
    }
    if first { eventLoop.execute { self.drain() } }
  }

  private func drain() {
    var backlog = self.backlog.value
    self.backlog.value = Backlog()
    let end = NIODeadline.now() + Self.slice
    var written: [any FanoutDelivery] = []
    repeat {
      if backlog.isDone {
        backlog = Backlog(batch: takePending())
        if backlog.isDone { break }
      }
      deliver(&backlog, until: end, writing: &written)
    } while NIODeadline.now() < end
    for delivery in written { delivery.flush() }
    // What was published since the last take has a drain of its own coming.
    guard !backlog.isDone else { return }
    // Time is up: the rest after the loop's next turn.
    self.backlog.value = backlog
    turn.next { self.drain() }
  }

  private func takePending() -> Batch {
    pending.withLock { batch in
      // The next batch starts with this one's capacity instead of growing from empty.
      defer {
        batch.events.removeAll(keepingCapacity: true)
        batch.items.removeAll(keepingCapacity: true)
      }
      return batch
    }
  }

  /// Delivers `backlog`'s items until they are done or the loop's time is up (looked at
  /// every 64 items), adding the watchers written to `written`.
  private func deliver(_ backlog: inout Backlog, until end: NIODeadline, writing written: inout [any FanoutDelivery]) {
    var encoded: (index: Int, event: EncodedEvent)?
    var count = 0
    while !backlog.isDone {
      count += 1
      if count & 63 == 0, NIODeadline.now() >= end { return }
      switch backlog.batch.items[backlog.next] {
      case .event(let delivery, let index):
        // One encoding serves the run of watchers of one event.
        if encoded?.index != index { encoded = (index, EncodedEvent(backlog.batch.events[index])) }
        delivery.deliver(&encoded!.event)
        written.append(delivery)
      case .end(let delivery, let slow):
        delivery.close(slow: slow)
      }
      backlog.next += 1
    }
  }
}

/// The loop side of a `FanoutSink` (a class: its existential is one reference to retain).
protocol FanoutDelivery: AnyObject, Sendable {
  func deliver(_ event: inout EncodedEvent)
  func close(slow: Bool)
  func flush()
}
