import Core
import NIOCore

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

/// Feeds a pushed watch (`Store.watch(_:into:)`) to a stream on an event loop. Its
/// `buffer` counts the events queued or held back on their way to the socket, so that a
/// watcher that stops reading meets the slow-consumer rules instead of buffering
/// without bound.
public final class FanoutSink<Target: FanoutTarget>: EventSink, FanoutDelivery {
  public let buffer: WatchBuffer
  private let target: Target
  private let fanout: LoopFanout

  public init(_ target: Target, on eventLoop: any EventLoop, buffer: WatchBuffer) {
    self.target = target
    fanout = LoopFanout.on(eventLoop)
    self.buffer = buffer
  }

  public func offer(_ event: Event) { fanout.send(event, to: self) }

  public func end(slow: Bool) { fanout.end(self, slow: slow) }

  func deliver(_ event: inout EncodedEvent) {
    let weight = buffer.weight(of: event.event)
    switch target.write(&event) {
    case .gone, .accepted: buffer.release(weight)
    case .held(let written): written.whenComplete { _ in self.buffer.release(weight) }
    }
  }

  func close(slow: Bool) { target.end(slow: slow) }
  func flush() { target.flush() }
}
