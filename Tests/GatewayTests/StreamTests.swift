import Core
import AsyncHTTPClient
import Foundation
import Gateway
import GRPCCore
import GRPCNIOTransportHTTP2
import KeyquarryProtos
import NIOCore
import NIOHTTP1
import SwiftProtobuf
import Testing

/// Reads a streaming response incrementally.
final class StreamReader {
  private var iterator: HTTPClientResponse.Body.AsyncIterator
  private(set) var received = ""
  let status: Int
  let headers: HTTPHeaders

  init(_ gw: TestGateway, _ path: String, headers: [(String, String)] = []) async throws {
    var request = HTTPClientRequest(url: gw.base + path)
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    let response = try await gw.http.execute(request, timeout: .seconds(30))
    status = Int(response.status.code)
    self.headers = response.headers
    iterator = response.body.makeAsyncIterator()
  }

  /// Reads until `text` has arrived (or fails after `timeout`).
  func read(until text: String, timeout: Duration = .seconds(5)) async throws {
    let deadline = ContinuousClock.now + timeout
    while !received.contains(text) {
      guard ContinuousClock.now < deadline else {
        Issue.record("'\(text)' did not arrive; got:\n\(received)")
        return
      }
      guard let chunk = try await iterator.next() else { return }
      received += String(buffer: chunk)
    }
  }

  /// Reads until the server ends the response.
  func readToEnd() async throws {
    while let chunk = try await iterator.next() { received += String(buffer: chunk) }
  }

  /// The SSE events received so far: (id, event, data).
  var events: [(id: String?, event: String, data: String)] {
    received.components(separatedBy: "\n\n").compactMap { block in
      var id: String?
      var event: String?
      var data: String?
      for line in block.split(separator: "\n") {
        if line.hasPrefix("id: ") { id = String(line.dropFirst(4)) }
        if line.hasPrefix("event: ") { event = String(line.dropFirst(7)) }
        if line.hasPrefix("data: ") { data = String(line.dropFirst(6)) }
      }
      guard let event, let data else { return nil }
      return (id, event, data)
    }
  }
}

@Suite struct StreamTests {
  @Test func sseFramingHeartbeatAndFilters() async throws {
    try await TestGateway.with(gateway: { $0.sseHeartbeat = .milliseconds(200) }) { gw in
      let stream = try await StreamReader(gw, "/v1/events?keys=k&events=CREATED,UPDATED&client_id=watcher")
      #expect(stream.status == 200)
      #expect(stream.headers.first(name: "Content-Type") == "text/event-stream")
      #expect(stream.headers.first(name: "Cache-Control") == "no-cache")
      try await stream.read(until: "retry: ")
      try await waitForWatchers(gw, 1)
      _ = try await gw.send(.PUT, "/v1/keys/other", body: Data("x"))
      _ = try await gw.send(.PUT, "/v1/keys/k", body: Data("1"))
      _ = try await gw.send(.GET, "/v1/keys/k")
      _ = try await gw.send(.PUT, "/v1/keys/k", body: Data("2"))
      try await stream.read(until: "event: UPDATED")
      try await stream.read(until: ": keepalive")
      let events = stream.events
      #expect(events.map(\.event) == ["CREATED", "UPDATED"])
      let ids = events.compactMap { $0.id.flatMap(UInt64.init) }
      #expect(ids.count == 2 && ids[0] < ids[1])
      let data = try JSONSerialization.jsonObject(with: Data(events[0].data.utf8)) as? [String: Any]
      #expect(data?["key"] as? String == "k")
      #expect(data?["clientId"] as? String == "anonymous@127.0.0.1")
    }
  }

  /// The direct handler serves `/v1/events` unless a middleware (here CORS) must see it:
  /// then Hummingbird's route does, with the same replay and slow-consumer rule.
  enum StreamPath: CaseIterable {
    case direct, route

    func configure(_ options: inout GatewayOptions) {
      if self == .route { options.corsOrigins = ["http://app.example"] }
    }
  }

  @Test(arguments: StreamPath.allCases)
  func resumeWithLastEventIDAndResetWhenTooOld(_ path: StreamPath) async throws {
    try await TestGateway.with(options: { $0.eventStreamBufferSize = 32 }, gateway: path.configure) { gw in
      for index in 0..<3 { _ = try await gw.send(.PUT, "/v1/keys/r\(index)", body: Data("v")) }
      let first = gw.store.lastEventSequence - 2  // the CREATED of r0
      var stream = try await StreamReader(gw, "/v1/events?events=CREATED", headers: [("Last-Event-ID", "\(first)")])
      try await stream.read(until: "\"r2\"")
      #expect(stream.events.map { $0.data.contains("\"r1\"") || $0.data.contains("\"r2\"") } == [true, true])
      #expect(stream.events.first?.id == "\(first + 1)")

      stream = try await StreamReader(gw, "/v1/events?events=CREATED&last_event_id=\(first)")
      try await stream.read(until: "\"r2\"")

      for index in 0..<100 { _ = try gw.store.set("bulk\(index)", value: Data("v"), by: "test") }
      stream = try await StreamReader(gw, "/v1/events", headers: [("Last-Event-ID", "1")])
      try await stream.read(until: "event: RESET")  // subscribed before the replay: live from here
      _ = try await gw.send(.PUT, "/v1/keys/after-reset", body: Data("v"))
      try await stream.read(until: "after-reset")
      #expect(stream.events.first?.event == "RESET")

      // An id from ahead of this server's (one from before a restart) is not resumed either.
      let ahead = gw.store.lastEventSequence + 1000
      stream = try await StreamReader(gw, "/v1/events", headers: [("Last-Event-ID", "\(ahead)")])
      try await stream.read(until: "event: RESET")
      _ = try await gw.send(.PUT, "/v1/keys/after-restart", body: Data("v"))
      try await stream.read(until: "after-restart")
      #expect(stream.events.first?.event == "RESET")
    }
  }

  @Test func valueWatchAndNDJSON() async throws {
    try await TestGateway.with { gw in
      _ = try await gw.send(.PUT, "/v1/keys/k", body: Data("v1"), headers: [("Client-Id", "owner")])
      let sse = try await StreamReader(gw, "/v1/keys/k/watch?client_id=w")
      try await sse.read(until: "event: NO_EVENT")
      let ndjson = try await StreamReader(gw, "/v1/keys/k/watch", headers: [("Accept", "application/x-ndjson")])
      #expect(ndjson.headers.first(name: "Content-Type") == "application/x-ndjson")
      try await ndjson.read(until: "\n")
      _ = try await gw.send(.PUT, "/v1/keys/k?lock_duration=10s", body: Data("v2"), headers: [("Client-Id", "owner")])
      _ = try await gw.send(.PUT, "/v1/keys/k", body: Data("v3"), headers: [("Client-Id", "owner")])
      _ = try await gw.send(.POST, "/v1/keys/k/unlock", headers: [("Client-Id", "owner")])
      _ = try await gw.send(.DELETE, "/v1/keys/k", headers: [("Client-Id", "owner")])
      try await sse.read(until: "event: DELETED")
      #expect(sse.events.map(\.event) == ["NO_EVENT", "UNLOCKED", "DELETED"], "values locked by another client are held back")
      #expect(sse.events.last?.data.contains("\"value\":\"djM=\"") == true, "the value at deletion")
      try await ndjson.read(until: "DELETED")
      let lines = ndjson.received.split(separator: "\n")
      #expect(lines.count == 3)
      #expect(lines.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) != nil })
    }
  }

  @Test(arguments: StreamPath.allCases)
  func aSlowConsumerIsDroppedWithoutSlowingWriters(_ path: StreamPath) async throws {
    try await TestGateway.with(options: {
      $0.eventStreamBufferSize = 8
      $0.eventStreamSendTimeout = .milliseconds(100)
    }, gateway: path.configure) { gw in
      // A client that asks for the stream and never reads it.
      guard let url = URL(string: gw.base), let port = url.port else { return }
      let socket = try RawSocket(port: port)
      try socket.send("GET /v1/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
      try await waitForWatchers(gw, 1)
      let value = Data(repeating: 0x61, count: 100)
      var slowestBatch = Duration.zero
      var written = 0
      // Write until the server gives up on the watcher (its buffer stayed full past the timeout).
      while gw.store.stats().eventSubscribers > 0, written < 2_000_000 {
        let started = ContinuousClock.now
        for index in written..<written + 1000 {
          try gw.store.set("k\(index % 100)", value: value + Data("\(index)".utf8), by: "writer")
        }
        written += 1000
        slowestBatch = max(slowestBatch, ContinuousClock.now - started)
      }
      #expect(gw.store.stats().eventSubscribers == 0, "the slow watcher was dropped")
      #expect(slowestBatch < .seconds(2), "writers are never held up by the watcher")
      socket.close()
    }
  }

  @Test func crossProtocolVisibility() async throws {
    try await TestGateway.with { gw in
      let transport = try HTTP2ClientTransport.Posix(
        target: .ipv4(address: "127.0.0.1", port: gw.grpcPort), transportSecurity: .plaintext)
      try await withGRPCClient(transport: transport) { grpc in
        let kq = Keyquarry_KeyQuarry.Client(wrapping: grpc)
        let metadata: Metadata = ["client_id": "grpc-side"]
        // gRPC write → SSE watcher
        let sse = try await StreamReader(gw, "/v1/events?keys=from-grpc")
        try await waitForWatchers(gw, 1)
        _ = try await kq.set(.with { $0.key = "from-grpc"; $0.value = Data("g") }, metadata: metadata)
        try await sse.read(until: "grpc-side")
        #expect(sse.events.first?.event == "CREATED")

        // REST write → gRPC watcher
        try await withThrowingTaskGroup(of: Keyquarry_Event.self) { group in
          group.addTask {
            try await kq.watchStream(.with { $0.keys = ["from-rest"] }, metadata: metadata) { response in
              for try await event in response.messages { return event }
              throw TestGateway.TestFailure("stream ended")
            }
          }
          try await waitForWatchers(gw, 2)
          _ = try await gw.send(.PUT, "/v1/keys/from-rest", body: Data("r"), headers: [("Client-Id", "rest-side")])
          let event = try await group.next()!
          #expect(event.event == .created && event.clientID == "rest-side")
          group.cancelAll()
        }
        #expect(try await kq.get(.with { $0.key = "from-rest" }, metadata: metadata).value == Data("r"))
      }
    }
  }

  @Test func theRouteServesStreamsWhenMiddlewareMustSeeThem() async throws {
    // With CORS on, streams go through Hummingbird's router instead of the direct handler.
    try await TestGateway.with(gateway: { $0.corsOrigins = ["http://app.example"] }) { gw in
      let stream = try await StreamReader(gw, "/v1/events?keys=routed", headers: [("Origin", "http://app.example")])
      #expect(stream.headers["Access-Control-Allow-Origin"] == ["http://app.example"])
      try await waitForWatchers(gw, 1)
      try gw.store.set("routed", value: Data("v"), by: "writer")
      try await stream.read(until: "writer")
      #expect(stream.events.map(\.event) == ["CREATED"])
      gw.store.endWatches()
      try await stream.readToEnd()
    }
  }

  @Test func shutdownEndsStreams() async throws {
    try await TestGateway.with { gw in
      let stream = try await StreamReader(gw, "/v1/events")
      try await waitForWatchers(gw, 1)
      gw.store.endWatches()
      try await stream.readToEnd()
      #expect(stream.received.hasPrefix("retry: "))
    }
  }
}

func waitForWatchers(_ gw: TestGateway, _ count: Int) async throws {
  for _ in 0..<1000 {
    if gw.store.stats().eventSubscribers == count { return }
    try await Task.sleep(for: .milliseconds(10))
  }
  Issue.record("expected \(count) watchers, have \(gw.store.stats().eventSubscribers)")
}

/// A bare TCP client, to be a consumer that never reads.
final class RawSocket {
  let fd: Int32

  init(port: Int) throws {
    fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    // A small receive buffer fills quickly.
    var size: Int32 = 4096
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    let result = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    if result != 0 { throw TestGateway.TestFailure("connect failed") }
  }

  func send(_ text: String) throws {
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
  }

  func close() { Glibc.close(fd) }
}
