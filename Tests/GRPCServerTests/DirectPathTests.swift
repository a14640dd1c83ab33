import Core
import Foundation
import GRPCCore
@testable import GRPCServer
import KeyquarryProtos
import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP2
import SwiftProtobuf
import Synchronization
import Testing

/// The transport's split, frame by frame on one connection: a one-key call is answered
/// in place, during the read that completed it; any other call is handed to GRPCServer.
/// The client end is NIO's own HTTP/2 codec, the bytes passed by hand between the two.
@Suite struct DirectPathTests {
  @Test func oneKeyCallsAreAnsweredInPlaceAndTheOthersAreForwarded() throws {
    let store = Store(options: TestServer.fastOptions)
    let forwarded = Mutex<[String]>([])
    let connection = try Connection(
      direct: KeyQuarryService(store: store).directRoutes(metrics: nil),
      accept: { rpc in forwarded.withLock { $0.append(rpc.stream.descriptor.method) } })

    try connection.call(stream: 1, "Set", Keyquarry_KeyValue.with { $0.key = "k"; $0.value = Data("v") })
    let frames = try (0..<3).map { _ in try #require(try connection.next()) }
    guard case .headers(let head) = frames[0].payload, case .data = frames[1].payload,
      case .headers(let trailers) = frames[2].payload
    else { Issue.record("expected headers, data, trailers: \(frames)"); return }
    #expect(head.headers.first(name: ":status") == "200")
    #expect(trailers.endStream && trailers.headers.first(name: "grpc-status") == "0")
    #expect(try store.get("k", by: "test") == Data("v"))

    try connection.call(stream: 3, "ListKeys", Keyquarry_ListKeysRequest())
    try connection.call(stream: 5, "WatchKeyValue", Keyquarry_WatchKeyValueRequest.with { $0.key = "k" })
    #expect(forwarded.withLock { $0 } == ["ListKeys", "WatchKeyValue"])
    #expect(try connection.next() == nil)  // GRPCServer answers those
  }

  @Test func watchStreamIsServedOnTheConnectionUntilTheServerEndsIt() throws {
    let store = Store(options: TestServer.fastOptions)
    let connection = try Connection(direct: KeyQuarryService(store: store).directRoutes(metrics: nil))

    try connection.call(stream: 1, "WatchStream", Keyquarry_WatchRequest.with { $0.keys = ["k"] })
    guard case .headers(let head) = try #require(try connection.next()).payload else {
      Issue.record("expected the response headers at once"); return
    }
    #expect(head.headers.first(name: ":status") == "200" && !head.endStream)
    #expect(store.stats().eventSubscribers == 1)

    try store.set("other", value: Data("x"), by: "test")
    try store.set("k", value: Data("v"), by: "test")
    guard case .data(let data) = try #require(try connection.next()).payload,  // after the loop's fanout turn
      case .byteBuffer(var bytes) = data.data
    else { Issue.record("expected the event"); return }
    bytes.moveReaderIndex(forwardBy: 5)
    let event = try Keyquarry_Event(serializedBytes: Array(bytes.readableBytesView))
    #expect(event.key == "k" && event.event == .created && event.clientID == "test")
    #expect(try connection.next() == nil)  // nothing for "other"

    store.endWatches()
    guard case .headers(let trailers) = try #require(try connection.next()).payload else {
      Issue.record("expected trailers"); return
    }
    #expect(trailers.endStream && trailers.headers.first(name: "grpc-status") == "0")
    #expect(store.stats().eventSubscribers == 0)
  }

  @Test func aResetWatchIsLetGo() throws {
    let store = Store(options: TestServer.fastOptions)
    let connection = try Connection(direct: KeyQuarryService(store: store).directRoutes(metrics: nil))
    try connection.call(stream: 1, "WatchStream", Keyquarry_WatchRequest())
    try connection.call(stream: 3, "WatchStream", Keyquarry_WatchRequest())
    #expect(store.stats().eventSubscribers == 2)
    try connection.send(HTTP2Frame(streamID: 1, payload: .rstStream(.cancel)))
    #expect(store.stats().eventSubscribers == 1)
    _ = try? connection.server.close().wait()
    #expect(store.stats().eventSubscribers == 0)  // the connection went: every watch on it too
  }

  /// Events held back by a closed flow-control window go out, in order and whole, once
  /// the client opens it; they count as queued meanwhile.
  @Test func eventsWaitForTheClientsWindow() throws {
    let store = Store(options: TestServer.fastOptions)
    let connection = try Connection(
      direct: KeyQuarryService(store: store).directRoutes(metrics: nil), clientWindow: 100)
    let keys = (0..<3).map { "\($0)" + String(repeating: "k", count: 60) }
    try connection.call(stream: 1, "WatchStream", Keyquarry_WatchRequest.with { $0.keys = keys })
    _ = try #require(try connection.next())  // the response headers
    for key in keys { try store.set(key, value: Data("v"), by: "test") }
    var received = ByteBuffer()
    while let frame = try connection.next(), case .data(let data) = frame.payload, case .byteBuffer(var bytes) = data.data {
      received.writeBuffer(&bytes)
    }
    #expect(received.readableBytes == 100)  // the window, and no more
    try connection.send(HTTP2Frame(streamID: 1, payload: .windowUpdate(windowSizeIncrement: 1 << 16)))
    while let frame = try connection.next(), case .data(let data) = frame.payload, case .byteBuffer(var bytes) = data.data {
      received.writeBuffer(&bytes)
    }
    var events: [String] = []
    while let length = received.getInteger(at: received.readerIndex + 1, as: UInt32.self),
      received.readableBytes >= 5 + Int(length)
    {
      received.moveReaderIndex(forwardBy: 5)
      let event = try Keyquarry_Event(serializedBytes: Array(received.readBytes(length: Int(length))!))
      events.append(event.key)
    }
    #expect(received.readableBytes == 0)
    #expect(events == keys)
  }
}

/// A `GRPCConnectionHandler` on one embedded channel, NIO's client codec on another.
private final class Connection {
  let server: EmbeddedChannel
  let client: EmbeddedChannel

  init(
    direct: [String: DirectRoute], clientWindow: Int = 1 << 20,
    accept: @escaping @Sendable (ForwardedRPC.Accepted) -> Void = { _ in }
  ) throws {
    var http2 = GRPCTransport.http2
    http2.targetWindow = 1 << 20
    let settings = ConnectionSettings(direct: direct, maxRequestPayload: 1 << 20, http2: http2, accept: accept)
    server = EmbeddedChannel(handler: GRPCConnectionHandler(settings: settings))
    var configuration = NIOHTTP2Handler.ConnectionConfiguration()
    configuration.initialSettings = [HTTP2Setting(parameter: .initialWindowSize, value: clientWindow)]
    client = EmbeddedChannel(handler: NIOHTTP2Handler(mode: .client, connectionConfiguration: configuration))
    let address = try SocketAddress(ipAddress: "127.0.0.1", port: 1)
    try server.connect(to: address).wait()
    try client.connect(to: address).wait()
    try exchange()
  }

  deinit {
    _ = try? server.finish()
    _ = try? client.finish()
  }

  /// Passes bytes both ways, running each loop's tasks, until neither has more to say.
  func exchange() throws {
    var moved = true
    while moved {
      moved = false
      server.embeddedEventLoop.run()
      while let bytes = try server.readOutbound(as: ByteBuffer.self) {
        try client.writeInbound(bytes)
        moved = true
      }
      while let bytes = try client.readOutbound(as: ByteBuffer.self) {
        try server.writeInbound(bytes)
        moved = true
      }
    }
  }

  func send(_ frame: HTTP2Frame) throws {
    try client.writeOutbound(frame)
    try exchange()
  }

  /// The next HEADERS or DATA frame the client has read.
  func next() throws -> HTTP2Frame? {
    try exchange()
    while let frame = try client.readInbound(as: HTTP2Frame.self) {
      switch frame.payload {
      case .headers, .data: return frame
      default: continue
      }
    }
    return nil
  }

  func call(stream: Int, _ method: String, _ request: some Message) throws {
    let id = HTTP2StreamID(stream)
    let headers: HPACKHeaders = [
      ":method": "POST", ":scheme": "http", ":path": "/keyquarry.KeyQuarry/\(method)",
      "content-type": "application/grpc", "client_id": "test",
    ]
    let message: [UInt8] = try request.serializedBytes()
    var body = ByteBuffer()
    body.writeInteger(UInt8(0))
    body.writeInteger(UInt32(message.count))
    body.writeBytes(message)
    try client.writeOutbound(HTTP2Frame(streamID: id, payload: .headers(.init(headers: headers))))
    try send(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(body), endStream: true))))
  }
}
