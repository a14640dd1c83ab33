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

/// The direct GET on one connection laid out as Hummingbird lays it out, as a client
/// sees it: a plain GET is answered in front of the codec during the read; anything else,
/// and a GET behind an unanswered request, goes on to Hummingbird.
@Suite struct DirectGetTests {
  let store = Store()

  private func connection() throws -> DirectConnection {
    try DirectConnection([DirectGetHandler(service: KeyQuarryService(store: store), serverName: "kq-test")])
  }

  @Test func aPlainGetIsAnsweredInFrontOfTheCodec() throws {
    try store.set("k", value: Data("value"), contentType: "text/plain", by: "writer")
    let connection = try connection()
    let pipeline = connection.server.pipeline.syncOperations
    #expect(throws: Never.self) { try pipeline.handler(type: DirectGetHandler.self) }
    #expect(throws: (any Error).self, "the installer took itself out") {
      try pipeline.handler(type: FrontHandlersInstaller.self)
    }

    try connection.send(.GET, "/v1/keys/k", headers: ["If-None-Match": "\"7\""])
    #expect(try connection.passedOn().isEmpty, "Hummingbird saw nothing")
    let (head, body) = try connection.response()
    #expect(head.status == .ok)
    #expect(body == "value")
    #expect(head.headers["Content-Type"] == ["text/plain"])
    #expect(head.headers["ETag"] == ["\"1\""])
    #expect(head.headers["Content-Length"] == ["5"])
    #expect(head.headers["Server"] == ["kq-test"])

    try connection.send(.GET, "/v1/keys/missing")
    #expect(try connection.response().head.status == .notFound)
    try connection.send(.GET, "/v1/keys/k", headers: ["If-None-Match": "\"1\""])
    #expect(try connection.response().head.status == .notModified)
  }

  @Test func otherRequestsAndGetsBehindThemGoToHummingbirdInOrder() throws {
    try store.set("k", value: Data("value"), by: "writer")
    let closing = try connection()
    try closing.send(.GET, "/v1/keys/k", headers: ["Connection": "close"])
    #expect(try closing.passedOn().count == 2, "Hummingbird closes the connection after answering")
    let old = try self.connection()
    try old.send(.GET, "/v1/keys/k", version: .http1_0)
    #expect(try old.passedOn().count == 2, "and answers HTTP/1.0, which closes by default")

    let connection = try connection()
    for (method, uri, headers) in [
      (HTTPMethod.POST, "/v1/keys/k/lock", HTTPHeaders()), (.GET, "/v1/keys/k?revision=1", [:]),
      (.GET, "/v1/keys/k/metric", [:]), (.HEAD, "/v1/keys/k", [:]),
      (.GET, "/v1/keys/k", ["Expect": "100-continue"]),
    ] {
      try connection.send(method, uri, headers: headers)
      let parts = try connection.passedOn()
      guard case .head(let request) = parts.first else { throw DirectGetTestError.expectedHead }
      #expect(request.path == uri)
      #expect(try connection.received().isEmpty)
    }
    // With five requests unanswered, a plain GET must wait its turn too.
    try connection.send(.GET, "/v1/keys/k")
    #expect(try connection.passedOn().count == 2)
    for _ in 0..<6 { try connection.answerFromHummingbird(.accepted) }
    let answers = try connection.received().filter { if case .head = $0 { true } else { false } }
    #expect(answers.count == 6)
    // All answered: the next one is direct again.
    try connection.send(.GET, "/v1/keys/k")
    #expect(try connection.passedOn().isEmpty)
    #expect(try connection.response().body == "value")
  }
}

private enum DirectGetTestError: Error { case expectedHead }
