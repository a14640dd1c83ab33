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

/// The direct event stream, part by part on one connection laid out as Hummingbird lays
/// it out: `GET /v1/events` is served in front of the codec, its events pushed by the
/// loop's fanout; anything else goes on to Hummingbird.
@Suite struct DirectEventsTests {
  let store = Store()

  private func connection() throws -> EmbeddedChannel {
    try directConnection([DirectEventsHandler(store: store, heartbeat: .seconds(60), serverName: "kq-test")])
  }

  /// The body parts written so far, as text.
  private func body(_ channel: EmbeddedChannel) throws -> String {
    var text = ""
    while let part = try channel.readOutbound(as: HTTPServerResponsePart.self) {
      if case .body(.byteBuffer(let buffer)) = part { text += String(buffer: buffer) }
    }
    return text
  }

  @Test func theStreamIsServedInFrontOfTheCodecUntilTheServerEndsIt() throws {
    let channel = try connection()
    try send(channel, .GET, "/v1/events?keys=k,j&events=created")
    #expect(try channel.readInbound(as: HTTPRequestPart.self) == nil, "Hummingbird saw nothing")
    guard case .head(let head) = try #require(try channel.readOutbound(as: HTTPServerResponsePart.self)) else {
      Issue.record("expected the response head"); return
    }
    #expect(head.status == .ok && head.headers["Content-Type"] == ["text/event-stream"])
    #expect(head.headers["Content-Length"].isEmpty && head.headers["Server"] == ["kq-test"])
    #expect(try body(channel) == "retry: 2000\n\n")
    #expect(store.stats().eventSubscribers == 1)

    try store.set("k", value: Data("1"), by: "writer")
    try store.set("k", value: Data("2"), by: "writer")  // UPDATED: filtered out
    try store.set("other", value: Data("x"), by: "writer")
    channel.embeddedEventLoop.run()
    let events = try body(channel)
    #expect(events.hasPrefix("id: ") && events.contains("\nevent: CREATED\ndata: {"))
    #expect(events.contains("\"key\":\"k\"") && events.contains("\"clientId\":\"writer\""))
    #expect(events.components(separatedBy: "event: ").count == 2, "one event: \(events)")

    store.endWatches()
    channel.embeddedEventLoop.run()
    #expect(try channel.readOutbound(as: HTTPServerResponsePart.self) == .end(nil))
    #expect(!channel.isActive, "the connection closes after the last chunk")
    #expect(store.stats().eventSubscribers == 0)
  }

  @Test func aResumingWatcherGetsWhatItMissedAndBadRequestsAreRefused() throws {
    try store.set("a", value: Data("1"), by: "writer")
    try store.set("a", value: Data("2"), by: "writer")
    let channel = try connection()
    try send(channel, .GET, "/v1/events?events=bogus")
    guard case .head(let refused) = try #require(try channel.readOutbound(as: HTTPServerResponsePart.self)) else {
      Issue.record("expected a refusal"); return
    }
    let refusal = try body(channel)
    #expect(refused.status == .badRequest && refusal.contains("unknown event type"))

    try send(channel, .GET, "/v1/events?keys=a", headers: ["Last-Event-ID": "0", "Accept": "application/x-ndjson"])
    guard case .head(let head) = try #require(try channel.readOutbound(as: HTTPServerResponsePart.self)) else {
      Issue.record("expected the response head"); return
    }
    #expect(head.headers["Content-Type"] == ["application/x-ndjson"])
    let replayed = try body(channel)
    let lines = replayed.split(separator: "\n")
    #expect(lines.count == 2 && lines[0].contains("\"CREATED\"") && lines[1].contains("\"UPDATED\""), "\(replayed)")
    try channel.close().wait()
    #expect(store.stats().eventSubscribers == 0, "a client that leaves lets go of its watch")
  }

  @Test func otherRequestsGoToHummingbird() throws {
    let channel = try connection()
    for (method, uri) in [(HTTPMethod.POST, "/v1/events"), (.GET, "/v1/eventsx"), (.GET, "/v1/keys/k/watch")] {
      try send(channel, method, uri)
      guard case .head(let request) = try #require(try channel.readInbound(as: HTTPRequestPart.self)) else {
        Issue.record("expected \(uri) to go on"); return
      }
      #expect(request.path == uri)
      _ = try channel.readInbound(as: HTTPRequestPart.self)  // its end
    }
    // Behind unanswered requests even an event stream waits its turn.
    try send(channel, .GET, "/v1/events")
    #expect(try channel.readInbound(as: HTTPRequestPart.self) != nil)
    #expect(store.stats().eventSubscribers == 0)
    _ = try? channel.finish()
  }
}
