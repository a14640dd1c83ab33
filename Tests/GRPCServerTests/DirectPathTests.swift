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
      direct: KeyQuarryService(store: store).directMethods(metrics: nil), maxRequestPayload: 1 << 20,
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
