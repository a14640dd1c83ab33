import NIOCore
import NIOHPACK

/// `grpc_response_compression`: response messages of at least `minBytes` compressed for
/// the clients whose `grpc-accept-encoding` lists the encoding. Off by default: compressing
/// costs the event loop more than most networks gain, except on large compressible values.
public struct ResponseCompression: Sendable {
  let encoding: MessageEncoding
  let minBytes: Int
  /// The response headers that name the encoding, encoded once.
  let responseHead: HeaderBlock

  /// Nil for `identity` (no compression).
  public init?(_ encoding: MessageEncoding, minBytes: Int) {
    guard encoding != .identity else { return nil }
    self.encoding = encoding
    self.minBytes = minBytes
    responseHead = HeaderBlock(Self.naming(encoding, in: GRPCWire.responseHeaders))
  }

  /// This compression if the request's `grpc-accept-encoding` lists it.
  func ifAccepted(by acceptEncoding: String?) -> Self? {
    encoding.isListed(in: acceptEncoding) ? self : nil
  }

  func headers(_ headers: HPACKHeaders) -> HPACKHeaders { Self.naming(encoding, in: headers) }

  private static func naming(_ encoding: MessageEncoding, in headers: HPACKHeaders) -> HPACKHeaders {
    var headers = headers
    headers.add(name: "grpc-encoding", value: encoding.rawValue)
    return headers
  }

  /// A gRPC message (prefix included) compressed, or as it is when it is small or does
  /// not shrink (each message has its own compressed flag).
  func compress(_ message: ByteBuffer) -> ByteBuffer {
    let length = message.readableBytes - PrefixedMessage.prefixLength
    guard length >= minBytes else { return message }
    var compressed = ByteBufferAllocator().buffer(capacity: PrefixedMessage.prefixLength + length / 2)
    compressed.writeInteger(UInt8(1))
    compressed.writeInteger(UInt32(0))
    guard encoding.compress(message.getSlice(at: message.readerIndex + PrefixedMessage.prefixLength, length: length)!,
      into: &compressed)
    else { return message }
    guard compressed.readableBytes < message.readableBytes else { return message }
    compressed.setInteger(UInt32(compressed.readableBytes - PrefixedMessage.prefixLength), at: 1)
    return compressed
  }
}
