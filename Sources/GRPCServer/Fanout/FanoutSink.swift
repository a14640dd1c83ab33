import Core
import NIOCore
import Synchronization

/// A watch stream on an event loop: a gRPC stream or an SSE response. Called on its loop only.
public protocol FanoutTarget: Sendable {
  /// Writes the event without flushing.
  func write(_ event: inout EncodedEvent) -> FanoutWrite
  /// Ends the stream: after the last event at shutdown, or because the watcher is too slow.
  func end(slow: Bool)
  /// Flushes what `write` wrote (cheap when there is nothing to flush).
  func flush()
}

/// How a watch stream took an event.
public enum FanoutWrite {
  /// The stream is gone: the event is dropped.
  case gone
  /// Written to a channel that has room: nothing holds it back on its way to the socket.
  case accepted
  /// Written, but it may wait (a full socket buffer, a closed flow-control window) until
  /// this completes.
  case held(EventLoopFuture<Void>)
}

/// Feeds a pushed watch (`Store.watch(_:into:)`) to a stream on an event loop. Counts
/// the events that are queued or held back on their way to the socket, so that a watcher
/// that stops reading fills its bounded queue and meets the slow-consumer rule instead
/// of buffering without bound.
public final class FanoutSink<Target: FanoutTarget>: EventSink, FanoutDelivery {
  private let target: Target
  private let fanout: LoopFanout
  private let capacity: Int
  private let queued = Atomic<Int>(0)

  public init(_ target: Target, on eventLoop: any EventLoop, capacity: Int) {
    self.target = target
    fanout = LoopFanout.on(eventLoop)
    self.capacity = capacity
  }

  public func offer(_ event: Event) -> Bool {
    guard queued.load(ordering: .relaxed) < capacity else { return false }
    queued.add(1, ordering: .relaxed)
    fanout.send(event, to: self)
    return true
  }

  public func end(slow: Bool) { fanout.end(self, slow: slow) }

  func deliver(_ event: inout EncodedEvent) {
    switch target.write(&event) {
    case .gone, .accepted: queued.subtract(1, ordering: .relaxed)
    case .held(let written): written.whenComplete { _ in self.queued.subtract(1, ordering: .relaxed) }
    }
  }

  func close(slow: Bool) { target.end(slow: slow) }
  func flush() { target.flush() }
}
