import Core
import GRPCServer
import HTTPTypes
import KeyquarryProtos
import NIOCore
import NIOHTTPTypes

/// Answers `GET /v1/keys/{key}`, the hottest REST call, on the connection's event loop,
/// so that it costs no request task, router walk or middleware chain: the same service
/// call and the same response as the route (`valueReply`, `GatewayError.reply`). Any other
/// request, and any request while Hummingbird is still answering an earlier one on this
/// connection (HTTP/1.1 answers in order), passes through. Installed only when no CORS,
/// metrics or tracing middleware would have to see the request.
final class DirectGetHandler: ChannelDuplexHandler, RemovableChannelHandler {
  typealias InboundIn = HTTPRequestPart
  typealias InboundOut = HTTPRequestPart
  typealias OutboundIn = HTTPResponsePart
  typealias OutboundOut = HTTPResponsePart

  private static let prefix = "/v1/keys/"
  private let service: KeyQuarryService
  private let serverName: String
  /// Requests passed to Hummingbird and not answered yet.
  private var forwarded = 0
  /// A GET taken here whose end has not arrived.
  private var taken: (head: HTTPRequest, key: Substring)?
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
  private static func key(of head: HTTPRequest) -> Substring? {
    guard head.method == .get, let path = head.path, path.hasPrefix(prefix) else { return nil }
    let key = path.dropFirst(prefix.count)
    guard !key.isEmpty, key != ".", key != "..",
      !key.utf8.contains(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }),
      head.headerFields[.connection] == nil, head.headerFields[.expect] == nil
    else { return nil }
    return key
  }

  private func answer(_ head: HTTPRequest, key: Substring, context: ChannelHandlerContext) {
    var reply: Reply
    do {
      var request = Keyquarry_InspectRequest()
      request.key = try decodeKey(key)
      request.includeValue = true
      let client = try gatewayCaller(
        given: head.headerFields[.clientID], peer: context.channel.remoteAddress?.ipAddress ?? "local")
      reply = valueReply(try service.inspect(request, by: client), ifNoneMatch: head.headerFields[.ifNoneMatch])
    } catch {
      reply = GatewayError(error).reply
    }
    // As Hummingbird adds them (none is among the reply's own fields).
    reply.headers.append(HTTPField(name: .contentLength, value: "\(reply.body.readableBytes)"))
    reply.headers.append(HTTPField(name: .date, value: date.now()))
    reply.headers.append(HTTPField(name: .server, value: serverName))
    context.write(wrapOutboundOut(.head(HTTPResponse(status: reply.status, headerFields: reply.headers))), promise: nil)
    if reply.body.readableBytes > 0 { context.write(wrapOutboundOut(.body(reply.body)), promise: nil) }
    context.write(wrapOutboundOut(.end(nil)), promise: nil)
    flushPending = true
  }
}
