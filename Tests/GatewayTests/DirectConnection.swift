@testable import Gateway
import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// A connection laid out as Hummingbird lays it out (NIO's HTTP/1 server pipeline, its
/// HTTPTypes codec, then the handlers it is given), with `handlers` installed in front of
/// the codec as the gateway installs its direct handlers; and a NIO HTTP/1 client at the
/// other end, so that what the server sends is parsed as a client would parse it.
final class DirectConnection {
  let server = EmbeddedChannel()
  let client = EmbeddedChannel()

  init(_ handlers: [any ChannelHandler]) throws {
    let pipeline = server.pipeline.syncOperations
    try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: false)
    try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
    try pipeline.addHandler(FrontHandlersInstaller(handlers))
    try client.pipeline.syncOperations.addHTTPClientHandlers()
  }

  /// One whole request, as the client sends it.
  func send(_ method: HTTPMethod, _ uri: String, headers: HTTPHeaders = [:], version: HTTPVersion = .http1_1) throws {
    var headers = headers
    headers.add(name: "Host", value: "localhost")
    try client.writeOutbound(HTTPClientRequestPart.head(HTTPRequestHead(version: version, method: method, uri: uri, headers: headers)))
    try client.writeOutbound(HTTPClientRequestPart.end(nil))
    try deliver()
  }

  /// Hummingbird's answer to a request it was passed.
  func answerFromHummingbird(_ status: HTTPResponse.Status) throws {
    try server.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: status, headerFields: [.contentLength: "0"])))
    try server.writeOutbound(HTTPResponsePart.end(nil))
    try deliver()
  }

  /// Runs the server's loop (where the fanout writes) and carries the bytes both ways.
  func deliver() throws {
    while let bytes = try client.readOutbound(as: ByteBuffer.self) {
      try server.writeInbound(bytes)
      server.pipeline.fireChannelReadComplete()
    }
    server.embeddedEventLoop.run()
    while let bytes = try server.readOutbound(as: ByteBuffer.self) { try client.writeInbound(bytes) }
  }

  /// The request parts Hummingbird's codec passed on.
  func passedOn() throws -> [HTTPRequestPart] {
    var parts: [HTTPRequestPart] = []
    while let part = try server.readInbound(as: HTTPRequestPart.self) { parts.append(part) }
    return parts
  }

  /// The response parts the client has parsed so far.
  func received() throws -> [HTTPClientResponsePart] {
    try deliver()
    var parts: [HTTPClientResponsePart] = []
    while let part = try client.readInbound(as: HTTPClientResponsePart.self) { parts.append(part) }
    return parts
  }

  /// The next whole response the client has parsed.
  func response() throws -> (head: HTTPResponseHead, body: String) {
    let parts = try received()
    guard case .head(let head) = parts.first, case .end = parts.last else { throw DirectConnectionError.noWholeResponse(parts) }
    return (head, Self.text(parts))
  }

  /// The body text among `parts`.
  static func text(_ parts: [HTTPClientResponsePart]) -> String {
    parts.reduce(into: "") { text, part in
      if case .body(let buffer) = part { text += String(buffer: buffer) }
    }
  }
}

enum DirectConnectionError: Error { case noWholeResponse([HTTPClientResponsePart]) }
