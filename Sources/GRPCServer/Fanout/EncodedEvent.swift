import Core
import KeyquarryProtos
import NIOCore
import SwiftProtobuf

/// One event as the watchers of one batch receive it, each encoding made once and
/// shared by every watcher that wants it (a `ByteBuffer` is written without a copy).
public struct EncodedEvent {
  public let event: Event
  private var grpcMessage: ByteBuffer?
  /// The Server-Sent Events and NDJSON framings, kept here by the gateway.
  public var sse: ByteBuffer?
  public var ndjson: ByteBuffer?
  private var jsonText: String?

  public init(_ event: Event) { self.event = event }

  /// The `keyquarry.Event` message as a gRPC message (prefix included).
  mutating func grpc() -> ByteBuffer {
    if let grpcMessage { return grpcMessage }
    // Every field is set from Core's values: serializing cannot fail.
    let message: PrefixedMessage = (try? Keyquarry_Event(event).serializedBytes()) ?? PrefixedMessage([])
    grpcMessage = message.buffer
    return message.buffer
  }

  /// The `keyquarry.Event` message in proto3 JSON.
  public mutating func json() -> String {
    if let jsonText { return jsonText }
    let text = (try? Keyquarry_Event(event).jsonString()) ?? "{}"
    jsonText = text
    return text
  }
}
