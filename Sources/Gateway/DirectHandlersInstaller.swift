import NIOCore
import NIOHTTPTypesHTTP1

/// The handler Hummingbird adds after its HTTPTypes codec: it puts the direct handlers
/// (`DirectEventsHandler`, `DirectGetHandler`) in front of the codec, in that order, so
/// that they work on NIO's HTTP/1 parts, and takes itself out.
final class DirectHandlersInstaller: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = Never
  private let handlers: [any ChannelHandler]

  init(_ handlers: [any ChannelHandler]) { self.handlers = handlers }

  func handlerAdded(context: ChannelHandlerContext) {
    let pipeline = context.pipeline.syncOperations
    do {
      let codec = try pipeline.handler(type: HTTP1ToHTTPServerCodec.self)
      for handler in handlers { try pipeline.addHandler(handler, position: .before(codec)) }
    } catch {
      // Without the codec the pipeline is not Hummingbird's HTTP/1: nothing to speed up.
    }
    pipeline.removeHandler(context: context, promise: nil)
  }
}
