import Core
import Foundation
@testable import Gateway
import GRPCServer
import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import Testing

/// The direct GET, part by part on one connection laid out as Hummingbird lays it out
/// (its HTTPTypes codec, then the handlers it is given): a plain GET is answered in front
/// of the codec during the read; anything else, and a GET behind an unanswered request,
/// goes on to Hummingbird.
@Suite struct DirectGetTests {
  let store = Store()

  private func connection() throws -> EmbeddedChannel {
    try directConnection([DirectGetHandler(service: KeyQuarryService(store: store), serverName: "kq-test")])
  }

  private func response(_ channel: EmbeddedChannel) throws -> (head: HTTPResponseHead, body: String) {
    guard case .head(let head) = try #require(try channel.readOutbound(as: HTTPServerResponsePart.self)) else {
      throw DirectGetTestError.expectedHead
    }
    var body = ""
    while case .body(.byteBuffer(let buffer)) = try #require(try channel.readOutbound(as: HTTPServerResponsePart.self)) {
      body += String(buffer: buffer)
    }
    return (head, body)
  }

  @Test func aPlainGetIsAnsweredInFrontOfTheCodec() throws {
    try store.set("k", value: Data("value"), contentType: "text/plain", by: "writer")
    let channel = try connection()
    #expect(throws: Never.self) { try channel.pipeline.syncOperations.handler(type: DirectGetHandler.self) }
    #expect(throws: (any Error).self, "the installer took itself out") {
      try channel.pipeline.syncOperations.handler(type: DirectHandlersInstaller.self)
    }

    try send(channel, .GET, "/v1/keys/k", headers: ["If-None-Match": "\"7\""])
    #expect(try channel.readInbound(as: HTTPRequestPart.self) == nil, "Hummingbird saw nothing")
    let (head, body) = try response(channel)
    #expect(head.status == .ok)
    #expect(body == "value")
    #expect(head.headers["Content-Type"] == ["text/plain"])
    #expect(head.headers["ETag"] == ["\"1\""])
    #expect(head.headers["Content-Length"] == ["5"])
    #expect(head.headers["Server"] == ["kq-test"])

    try send(channel, .GET, "/v1/keys/missing")
    #expect(try response(channel).head.status == .notFound)
    try send(channel, .GET, "/v1/keys/k", headers: ["If-None-Match": "\"1\""])
    #expect(try response(channel).head.status == .notModified)
    _ = try? channel.finish()
  }

  @Test func otherRequestsAndGetsBehindThemGoToHummingbirdInOrder() throws {
    try store.set("k", value: Data("value"), by: "writer")
    let channel = try connection()
    for (method, uri, headers) in [
      (HTTPMethod.POST, "/v1/keys/k/lock", HTTPHeaders()), (.GET, "/v1/keys/k?revision=1", [:]),
      (.GET, "/v1/keys/k/metric", [:]), (.HEAD, "/v1/keys/k", [:]), (.GET, "/v1/keys/k", ["Connection": "close"]),
    ] {
      try send(channel, method, uri, headers: headers)
      guard case .head(let request) = try #require(try channel.readInbound(as: HTTPRequestPart.self)) else {
        throw DirectGetTestError.expectedHead
      }
      #expect(request.path == uri)
      _ = try channel.readInbound(as: HTTPRequestPart.self)  // its end
      #expect(try channel.readOutbound(as: HTTPServerResponsePart.self) == nil)
    }
    // With five requests unanswered, a plain GET must wait its turn too.
    try send(channel, .GET, "/v1/keys/k")
    #expect(try channel.readInbound(as: HTTPRequestPart.self) != nil)
    _ = try channel.readInbound(as: HTTPRequestPart.self)
    for _ in 0..<6 {
      try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .accepted)))
      try channel.writeOutbound(HTTPResponsePart.end(nil))
    }
    while try channel.readOutbound(as: HTTPServerResponsePart.self) != nil {}
    // All answered: the next one is direct again.
    try send(channel, .GET, "/v1/keys/k")
    #expect(try channel.readInbound(as: HTTPRequestPart.self) == nil)
    #expect(try response(channel).body == "value")
    _ = try? channel.finish()
  }
}

private enum DirectGetTestError: Error { case expectedHead }
