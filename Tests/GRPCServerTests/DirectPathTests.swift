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
@Suite struct DirectPathTests {
  @Test func oneKeyCallsAreAnsweredInPlaceAndTheOthersAreForwarded() throws {
    let store = Store(options: TestServer.fastOptions)
    let forwarded = Mutex<[String]>([])
    let settings = ConnectionSettings(
      direct: KeyQuarryService(store: store).directRoutes(metrics: nil), maxRequestPayload: 1 << 20,
      targetWindow: 1 << 20, accept: { rpc in forwarded.withLock { $0.append(rpc.stream.descriptor.method) } })
    let channel = EmbeddedChannel(handler: GRPCConnectionHandler(settings: settings))

    try call(channel, stream: 1, "Set", Keyquarry_KeyValue.with { $0.key = "k"; $0.value = Data("v") })
    let frames = try (0..<3).map { _ in try #require(try channel.readOutbound(as: HTTP2Frame.self)) }
    guard case .headers(let head) = frames[0].payload, case .data = frames[1].payload,
      case .headers(let trailers) = frames[2].payload
    else { Issue.record("expected headers, data, trailers: \(frames)"); return }
    #expect(head.headers.first(name: ":status") == "200")
    #expect(trailers.endStream && trailers.headers.first(name: "grpc-status") == "0")
    #expect(try store.get("k", by: "test") == Data("v"))

    try call(channel, stream: 3, "ListKeys", Keyquarry_ListKeysRequest())
    try call(channel, stream: 5, "WatchKeyValue", Keyquarry_WatchKeyValueRequest.with { $0.key = "k" })
    #expect(forwarded.withLock { $0 } == ["ListKeys", "WatchKeyValue"])
    #expect(try channel.readOutbound(as: HTTP2Frame.self) == nil)  // GRPCServer answers those
    _ = try? channel.finish()
  }

  @Test func watchStreamIsServedOnTheConnectionUntilTheServerEndsIt() throws {
    let store = Store(options: TestServer.fastOptions)
    let forwarded = Mutex<[String]>([])
    let service = KeyQuarryService(store: store)
    let settings = ConnectionSettings(
      direct: service.directRoutes(metrics: nil), maxRequestPayload: 1 << 20, targetWindow: 1 << 20,
      accept: { rpc in forwarded.withLock { $0.append(rpc.stream.descriptor.method) } })
    let channel = EmbeddedChannel(handler: GRPCConnectionHandler(settings: settings))

    try call(channel, stream: 1, "WatchStream", Keyquarry_WatchRequest.with { $0.keys = ["k"] })
    guard case .headers(let head) = try #require(try channel.readOutbound(as: HTTP2Frame.self)).payload else {
      Issue.record("expected the response headers at once"); return
    }
    #expect(head.headers.first(name: ":status") == "200" && !head.endStream)
    #expect(store.stats().eventSubscribers == 1)

    try store.set("other", value: Data("x"), by: "test")
    try store.set("k", value: Data("v"), by: "test")
    channel.embeddedEventLoop.run()  // the loop's fanout turn
    guard case .data(let data) = try #require(try channel.readOutbound(as: HTTP2Frame.self)).payload,
      case .byteBuffer(var bytes) = data.data
    else { Issue.record("expected the event"); return }
    bytes.moveReaderIndex(forwardBy: 5)
    let event = try Keyquarry_Event(serializedBytes: Array(bytes.readableBytesView))
    #expect(event.key == "k" && event.event == .created && event.clientID == "test")
    #expect(try channel.readOutbound(as: HTTP2Frame.self) == nil)  // nothing for "other"

    store.endWatches()
    channel.embeddedEventLoop.run()
    guard case .headers(let trailers) = try #require(try channel.readOutbound(as: HTTP2Frame.self)).payload else {
      Issue.record("expected trailers"); return
    }
    #expect(trailers.endStream && trailers.headers.first(name: "grpc-status") == "0")
    #expect(store.stats().eventSubscribers == 0)
    #expect(forwarded.withLock { $0 }.isEmpty)
    _ = try? channel.finish()
  }

  @Test func aResetWatchIsLetGo() throws {
    let store = Store(options: TestServer.fastOptions)
    let service = KeyQuarryService(store: store)
    let settings = ConnectionSettings(
      direct: service.directRoutes(metrics: nil), maxRequestPayload: 1 << 20, targetWindow: 1 << 20,
      accept: { _ in })
    let channel = EmbeddedChannel(handler: GRPCConnectionHandler(settings: settings))
    try call(channel, stream: 1, "WatchStream", Keyquarry_WatchRequest())
    try call(channel, stream: 3, "WatchStream", Keyquarry_WatchRequest())
    #expect(store.stats().eventSubscribers == 2)
    channel.pipeline.fireUserInboundEventTriggered(StreamClosedEvent(streamID: 1, reason: .cancel))
    #expect(store.stats().eventSubscribers == 1)
    _ = try? channel.close().wait()
    #expect(store.stats().eventSubscribers == 0)  // the connection went: every watch on it too
  }

  private func call(_ channel: EmbeddedChannel, stream: Int, _ method: String, _ request: some Message) throws {
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
    try channel.writeInbound(HTTP2Frame(streamID: id, payload: .headers(.init(headers: headers))))
    try channel.writeInbound(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(body), endStream: true))))
  }
}
