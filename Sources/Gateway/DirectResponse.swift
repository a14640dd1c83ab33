import HTTPTypes
import NIOCore
import NIOHTTP1

/// Writes responses as Hummingbird would (with `Date` and `Server`), for the handlers
/// that answer below it (`DirectGetHandler`, `DirectEventsHandler`).
struct DirectResponse {
  let serverName: String
  private var date = HTTPDate()

  init(serverName: String) { self.serverName = serverName }

  /// A response head; without `contentLength` NIO sends the body chunked.
  mutating func head(_ status: HTTPResponse.Status, _ fields: HTTPFields, contentLength: Int?) -> HTTPServerResponsePart {
    var headers = HTTPHeaders()
    headers.reserveCapacity(fields.count + 3)
    for field in fields { headers.add(name: field.name.rawName, value: field.value) }
    // As Hummingbird adds them (none is among the reply's own fields).
    if let contentLength { headers.add(name: "Content-Length", value: "\(contentLength)") }
    headers.add(name: "Date", value: date.now())
    headers.add(name: "Server", value: serverName)
    let status = HTTPResponseStatus(statusCode: status.code, reasonPhrase: status.reasonPhrase)
    return .head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))
  }

  /// A whole reply, unflushed.
  mutating func write(_ reply: Reply, to context: ChannelHandlerContext) {
    let head = head(reply.status, reply.headers, contentLength: reply.body.readableBytes)
    context.write(NIOAny(head), promise: nil)
    if reply.body.readableBytes > 0 { context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(reply.body))), promise: nil) }
    context.write(NIOAny(HTTPServerResponsePart.end(nil)), promise: nil)
  }
}
