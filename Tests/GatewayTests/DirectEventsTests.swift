import Core
import Foundation
import HTTPTypes
@testable import Gateway
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import Testing

/// The direct event stream on one connection laid out as Hummingbird lays it out, as a
/// client parses it: `GET /v1/events` is served in front of the codec, its events pushed
/// by the loop's fanout as chunks of their own; anything else goes on to Hummingbird.
@Suite struct DirectEventsTests {
  let store = Store()

  private func connection() throws -> DirectConnection {
    try DirectConnection([DirectEventsHandler(store: store, heartbeat: .seconds(60), serverName: "kq-test")])
  }

  @Test func theStreamIsServedInFrontOfTheCodecUntilTheServerEndsIt() throws {
    let connection = try connection()
    try connection.send(.GET, "/v1/events?keys=k,j&events=created")
    #expect(try connection.passedOn().isEmpty, "Hummingbird saw nothing")
    let opening = try connection.received()
    guard case .head(let head) = opening.first else {
      Issue.record("expected the response head, got \(opening)"); return
    }
    #expect(head.status == .ok && head.headers["Content-Type"] == ["text/event-stream"])
    #expect(head.headers["Transfer-Encoding"] == ["chunked"] && head.headers["Server"] == ["kq-test"])
    #expect(DirectConnection.text(opening) == "retry: 2000\n\n")
    #expect(store.stats().eventSubscribers == 1)

    try store.set("k", value: Data("1"), by: "writer")
    try store.set("k", value: Data("2"), by: "writer")  // UPDATED: filtered out
    try store.set("other", value: Data("x"), by: "writer")
    let parts = try connection.received()
    #expect(parts.count == 1, "one chunk per event: \(parts)")
    let events = DirectConnection.text(parts)
    #expect(events.hasPrefix("id: ") && events.contains("\nevent: CREATED\ndata: {"))
    #expect(events.contains("\"key\":\"k\"") && events.contains("\"clientId\":\"writer\""))
    #expect(events.components(separatedBy: "event: ").count == 2, "one event: \(events)")

    store.endWatches()
    #expect(try connection.received() == [.end(nil)], "the last chunk")
    #expect(!connection.server.isActive, "then the connection closes")
    #expect(store.stats().eventSubscribers == 0)
  }

  @Test func aResumingWatcherGetsWhatItMissedAndBadRequestsAreRefused() throws {
    try store.set("a", value: Data("1"), by: "writer")
    try store.set("a", value: Data("2"), by: "writer")
    let connection = try connection()
    try connection.send(.GET, "/v1/events?events=bogus")
    let (refused, refusal) = try connection.response()
    #expect(refused.status == .badRequest && refusal.contains("unknown event type"))

    try connection.send(.GET, "/v1/events?keys=a", headers: ["Last-Event-ID": "0", "Accept": "application/x-ndjson"])
    let parts = try connection.received()
    guard case .head(let head) = parts.first else {
      Issue.record("expected the response head, got \(parts)"); return
    }
    #expect(head.headers["Content-Type"] == ["application/x-ndjson"])
    let replayed = DirectConnection.text(parts)
    let lines = replayed.split(separator: "\n")
    #expect(lines.count == 2 && lines[0].contains("\"CREATED\"") && lines[1].contains("\"UPDATED\""), "\(replayed)")
    try connection.server.close().wait()
    #expect(store.stats().eventSubscribers == 0, "a client that leaves lets go of its watch")
  }

  @Test func otherRequestsGoToHummingbird() throws {
    let connection = try connection()
    for (method, uri) in [(HTTPMethod.POST, "/v1/events"), (.GET, "/v1/eventsx"), (.GET, "/v1/keys/k/watch")] {
      try connection.send(method, uri)
      guard case .head(let request) = try connection.passedOn().first else {
        Issue.record("expected \(uri) to go on"); return
      }
      #expect(request.path == uri)
    }
    // HTTP/1.0 has no chunked bodies: its streams are Hummingbird's.
    let old = try self.connection()
    try old.send(.GET, "/v1/events", version: .http1_0)
    #expect(try old.passedOn().count == 2)
    // Behind unanswered requests even an event stream waits its turn.
    try connection.send(.GET, "/v1/events")
    #expect(try connection.passedOn().count == 2)
    #expect(store.stats().eventSubscribers == 0)
  }
}
