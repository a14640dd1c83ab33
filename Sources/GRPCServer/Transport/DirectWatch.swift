import Core
import GRPCCore
import KeyquarryProtos
import NIOCore

/// WatchStream served by the connection itself: the subscription pushes each event
/// through the event loop's `LoopFanout` straight onto the stream, so a thousand
/// watchers cost no task, no executor hop and one encoding per event.
struct DirectWatch: Sendable {
  /// Validates the `client_id` header, decodes the request and subscribes `sink`.
  let start: @Sendable (_ request: PrefixedMessage, _ clientID: String?, _ sink: FanoutSink<GRPCWatchTarget>) throws
    -> PushSubscription
  /// Each watcher's account of what waits for it.
  let makeBuffer: @Sendable () -> WatchBuffer
  var metrics: MethodMetrics?
}

extension KeyQuarryService {
  /// WatchStream as `directRoutes` serves it.
  func directWatch(metrics: RPCMetrics?) -> DirectWatch {
    DirectWatch(
      start: { message, clientID, sink in
        _ = try ClientID.validate(clientID)
        return try watchStream(try message.decoded(), into: sink)
      },
      makeBuffer: { [store] in store.makeWatchBuffer() },
      metrics: metrics?[Keyquarry_KeyQuarry.Method.WatchStream.descriptor])
  }
}

/// One direct watch's stream, as its `FanoutSink` writes to it.
struct GRPCWatchTarget: FanoutTarget {
  let handler: NIOLoopBound<GRPCConnectionHandler>
  let streamID: StreamID
  let compression: ResponseCompression?

  func write(_ event: inout EncodedEvent) -> FanoutWrite {
    handler.value.writeEvent(message(of: &event), on: streamID)
  }

  /// The event's message, compressed once per encoding for all the watchers that accept it.
  private func message(of event: inout EncodedEvent) -> ByteBuffer {
    guard let compression else { return event.grpc() }
    return event.framing("grpc+" + compression.encoding.rawValue) { compression.compress($0.grpc()) }
  }

  func end(slow: Bool) { handler.value.endWatch(on: streamID, slow: slow) }

  func flush() { handler.value.flushEvents() }
}
