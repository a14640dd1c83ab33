import Core
import NIOCore
import Synchronization

/// Carries watch events from the publishing threads to the watchers of one event loop,
/// in batches: one wake-up of the loop, one encoding per event and one flush per
/// connection for a whole batch, instead of a task per watcher.
public final class LoopFanout: Sendable {
  fileprivate enum Item {
    case event(any FanoutDelivery, Event)
    case end(any FanoutDelivery, slow: Bool)
  }

  public let eventLoop: any EventLoop
  private let pending = Mutex<[Item]>([])

  private init(eventLoop: any EventLoop) { self.eventLoop = eventLoop }

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

  func send(_ event: Event, to delivery: any FanoutDelivery) { enqueue(.event(delivery, event)) }

  func end(_ delivery: any FanoutDelivery, slow: Bool) { enqueue(.end(delivery, slow: slow)) }

  private func enqueue(_ item: Item) {
    let first = pending.withLock { items in
      items.append(item)
      return items.count == 1
    }
    if first { eventLoop.execute { self.drain() } }
  }

  private func drain() {
    let items = pending.withLock { items in
      // The next batch starts with this one's capacity instead of growing from empty.
      defer { items.removeAll(keepingCapacity: true) }
      return items
    }
    var encoded: EncodedEvent?
    var written: [any FanoutDelivery] = []
    written.reserveCapacity(items.count)
    for item in items {
      switch item {
      case .event(let delivery, let event):
        // Publishers enqueue an event for all its watchers at once: one encoding serves the run.
        if encoded?.event.sequence != event.sequence { encoded = EncodedEvent(event) }
        delivery.deliver(&encoded!)
        written.append(delivery)
      case .end(let delivery, let slow):
        delivery.close(slow: slow)
      }
    }
    for delivery in written { delivery.flush() }
  }
}

/// The loop side of a `FanoutSink`.
protocol FanoutDelivery: Sendable {
  func deliver(_ event: inout EncodedEvent)
  func close(slow: Bool)
  func flush()
}
