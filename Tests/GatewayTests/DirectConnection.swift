@testable import Gateway
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypesHTTP1

/// A connection laid out as Hummingbird lays it out (its HTTPTypes codec, then the
/// handlers it is given), with `handlers` installed in front of the codec as the
/// gateway installs its direct handlers.
func directConnection(_ handlers: [any ChannelHandler]) throws -> EmbeddedChannel {
  let channel = EmbeddedChannel()
  let pipeline = channel.pipeline.syncOperations
  try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
  try pipeline.addHandler(DirectHandlersInstaller(handlers))
  return channel
}

/// One whole request, read as the socket would deliver it.
func send(_ channel: EmbeddedChannel, _ method: HTTPMethod, _ uri: String, headers: HTTPHeaders = [:]) throws {
  var headers = headers
  headers.add(name: "Host", value: "localhost")
  try channel.writeInbound(HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers)))
  try channel.writeInbound(HTTPServerRequestPart.end(nil))
  channel.pipeline.fireChannelReadComplete()
}
