import Core
import GRPCServer
import HTTPTypes
import KeyquarryProtos
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1

/// Answers `GET /v1/keys/{key}`, the hottest REST call, on the connection's event loop,
/// so that it costs no request task, router walk or middleware chain: the same service
/// call and the same response as the route (`valueReply`, `GatewayError.reply`). Any other
/// request, and any request while Hummingbird is still answering an earlier one on this
/// connection (HTTP/1.1 answers in order), passes through. Installed only when no CORS,
/// metrics or tracing middleware would have to see the request.
///
/// It sits before Hummingbird's HTTPTypes codec and works on NIO's HTTP/1 parts, so a
/// direct GET is never converted to `HTTPRequest` and back (about 8% of its CPU).
final class DirectGetHandler: ChannelDuplexHandler, RemovableChannelHandler {
  typealias InboundIn = HTTPServerRequestPart
  typealias InboundOut = HTTPServerRequestPart
  typealias OutboundIn = HTTPServerResponsePart
  typealias OutboundOut = HTTPServerResponsePart

  /// The handler Hummingbird adds after its codec: it puts a `DirectGetHandler` in
  /// front of the codec and takes itself out.
  final class Installer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = Never
    private let handler: DirectGetHandler

    init(_ handler: DirectGetHandler) { self.handler = handler }

    func handlerAdded(context: ChannelHandlerContext) {
      let pipeline = context.pipeline.syncOperations
      do {
        let codec = try pipeline.handler(type: HTTP1ToHTTPServerCodec.self)
        try pipeline.addHandler(handler, position: .before(codec))
      } catch {
        // Without the codec the pipeline is not Hummingbird's HTTP/1: nothing to speed up.
      }
      pipeline.removeHandler(context: context, promise: nil)
    }
  }

  private static let prefix = "/v1/keys/"
  private let service: KeyQuarryService
  private let serverName: String
  /// Requests passed to Hummingbird and not answered yet.
  private var forwarded = 0
  /// A GET taken here whose end has not arrived.
  private var taken: (head: HTTPRequestHead, key: Substring)?
  private var date = HTTPDate()
  private var flushPending = false

  init(service: KeyQuarryService, serverName: String) {
    self.service = service
    self.serverName = serverName
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .head(let head):
      if forwarded == 0, let key = Self.key(of: head) {
        taken = (head, key)
        return
      }
      forwarded += 1
    case .body:
      if taken != nil { return }  // a GET's body means nothing
    case .end:
      if let (head, key) = taken {
        taken = nil
        return answer(head, key: key, context: context)
      }
    }
    context.fireChannelRead(data)
  }

  func channelReadComplete(context: ChannelHandlerContext) {
    if flushPending {
      flushPending = false
      context.flush()
    }
    context.fireChannelReadComplete()
  }

  func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
    if case .end = unwrapOutboundIn(data) { forwarded -= 1 }
    context.write(data, promise: promise)
  }

  /// The raw key of a plain `GET /v1/keys/{key}`: no query, no sub-path, and nothing that
  /// asks for Hummingbird's handling of the connection.
  private static func key(of head: HTTPRequestHead) -> Substring? {
    guard head.method == .GET, head.uri.hasPrefix(prefix) else { return nil }
    let key = head.uri.dropFirst(prefix.count)
    guard !key.isEmpty, key != ".", key != "..",
      !key.utf8.contains(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }),
      !head.headers.contains(name: "connection"), !head.headers.contains(name: "expect")
    else { return nil }
    return key
  }

  private func answer(_ head: HTTPRequestHead, key: Substring, context: ChannelHandlerContext) {
    var reply: Reply
    do {
      var request = Keyquarry_InspectRequest()
      request.key = try decodeKey(key)
      request.includeValue = true
      let client = try gatewayCaller(
        given: head.headers.first(name: "client-id"), peer: context.channel.remoteAddress?.ipAddress ?? "local")
      reply = valueReply(try service.inspect(request, by: client), ifNoneMatch: head.headers.first(name: "if-none-match"))
    } catch {
      reply = GatewayError(error).reply
    }
    var headers = HTTPHeaders()
    headers.reserveCapacity(reply.headers.count + 3)
    for field in reply.headers { headers.add(name: field.name.rawName, value: field.value) }
    // As Hummingbird adds them (none is among the reply's own fields).
    headers.add(name: "Content-Length", value: "\(reply.body.readableBytes)")
    headers.add(name: "Date", value: date.now())
    headers.add(name: "Server", value: serverName)
    let status = HTTPResponseStatus(statusCode: reply.status.code, reasonPhrase: reply.status.reasonPhrase)
    context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
    if reply.body.readableBytes > 0 { context.write(wrapOutboundOut(.body(.byteBuffer(reply.body))), promise: nil) }
    context.write(wrapOutboundOut(.end(nil)), promise: nil)
    flushPending = true
  }
}
