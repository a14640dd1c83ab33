import NIOCore
import NIOHTTPTypesHTTP1

/// The handler Hummingbird adds after its HTTPTypes codec: it puts the gateway's own
/// handlers (`HTTPConnectionGuard`, then the direct ones) in front of the codec, in
/// that order, so that they work on NIO's HTTP/1 parts, and takes itself out.
final class FrontHandlersInstaller: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = Never
  private let handlers: [any ChannelHandler]

  init(_ handlers: [any ChannelHandler]) { self.handlers = handlers }

  func handlerAdded(context: ChannelHandlerContext) {
    let pipeline = context.pipeline.syncOperations
    do {
      let codec = try pipeline.handler(type: HTTP1ToHTTPServerCodec.self)
      for handler in handlers { try pipeline.addHandler(handler, position: .before(codec)) }
    } catch {
      // Without the codec the pipeline is not Hummingbird's HTTP/1: nothing to put in front.
    }
    pipeline.removeHandler(context: context, promise: nil)
  }
}
