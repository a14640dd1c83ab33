import Core
import KeyquarryProtos
import NIOCore
import SwiftProtobuf

/// One event as the watchers of one batch receive it, each encoding made once and
/// shared by every watcher that wants it (a `ByteBuffer` is written without a copy).
public struct EncodedEvent {
  public let event: Event
  private var grpcMessage: ByteBuffer?
  private var jsonText: String?
  /// Framings other transports make of the event (the gateway's SSE and NDJSON chunks),
  /// by their names; a batch asks for one or two, so a list beats a dictionary.
  private var framings: [(name: String, bytes: ByteBuffer)] = []

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

  /// The framing called `name`, made by `make` the first time it is asked for.
  public mutating func framing(_ name: String, _ make: (inout EncodedEvent) -> ByteBuffer) -> ByteBuffer {
    if let made = framings.first(where: { $0.name == name }) { return made.bytes }
    let bytes = make(&self)
    framings.append((name, bytes))
    return bytes
  }
}
