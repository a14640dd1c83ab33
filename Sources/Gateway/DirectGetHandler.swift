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

  private static let prefix = "/v1/keys/"
  private let service: KeyQuarryService
  private var response: DirectResponse
  private var requests = InOrderTaking<(head: HTTPRequestHead, key: Substring)>()
  private var flushPending = false

  init(service: KeyQuarryService, serverName: String) {
    self.service = service
    response = DirectResponse(serverName: serverName)
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch requests.read(unwrapInboundIn(data), wanted: { head in Self.key(of: head).map { (head, $0) } }) {
    case .pass: context.fireChannelRead(data)
    case .keep: break
    case .answer(let (head, key)): answer(head, key: key, context: context)
    }
  }

  func channelReadComplete(context: ChannelHandlerContext) {
    if flushPending {
      flushPending = false
      context.flush()
    }
    context.fireChannelReadComplete()
  }

  func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
    requests.wrote(unwrapOutboundIn(data))
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
    response.write(reply, to: context)
    flushPending = true
  }
}
