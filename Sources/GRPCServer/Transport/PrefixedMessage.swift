import GRPCCore
import NIOCore
import SwiftProtobuf

/// One gRPC message as it crosses the wire: the 5-byte prefix (compressed flag, length)
/// and the protobuf bytes in one `ByteBuffer`. SwiftProtobuf and grpc-swift see only the
/// protobuf bytes, so a response is serialized straight into the buffer that is written
/// and a request is decoded where it was read, with no copy in between.
struct PrefixedMessage: GRPCContiguousBytes, SwiftProtobufContiguousBytes, Sendable {
  static let prefixLength = 5
  private(set) var buffer: ByteBuffer

  /// `buffer` holds exactly one message, prefix included (as `MessageDeframer` cuts them).
  init(framed buffer: ByteBuffer) {
    self.buffer = buffer
  }

  init(repeating byte: UInt8, count: Int) {
    buffer = ByteBufferAllocator().buffer(capacity: Self.prefixLength + count)
    buffer.writeInteger(UInt8(0))
    buffer.writeInteger(UInt32(count))
    buffer.writeRepeatingByte(byte, count: count)
  }

  /// An uncompressed message of `payload`'s bytes (an inflated request).
  init(payload: ByteBuffer) {
    buffer = ByteBufferAllocator().buffer(capacity: Self.prefixLength + payload.readableBytes)
    buffer.writeInteger(UInt8(0))
    buffer.writeInteger(UInt32(payload.readableBytes))
    buffer.writeImmutableBuffer(payload)
  }

  init<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
    let bytes = Array(bytes)
    self.init(repeating: 0, count: bytes.count)
    buffer.setBytes(bytes, at: buffer.readerIndex + Self.prefixLength)
  }

  var count: Int { buffer.readableBytes - Self.prefixLength }

  func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    try buffer.withUnsafeReadableBytes { try body(UnsafeRawBufferPointer(rebasing: $0.dropFirst(Self.prefixLength))) }
  }

  mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
    try buffer.withUnsafeMutableReadableBytes {
      try body(UnsafeMutableRawBufferPointer(rebasing: $0.dropFirst(Self.prefixLength)))
    }
  }
}

/// Cuts a request stream's DATA into gRPC messages. A message that arrives in one DATA
/// frame (the usual case) is a slice of that frame's buffer; a compressed one is inflated.
struct MessageDeframer {
  let maxPayload: Int
  let encoding: MessageEncoding
  private var pending: ByteBuffer?

  init(maxPayload: Int, encoding: MessageEncoding) {
    self.maxPayload = maxPayload
    self.encoding = encoding
  }

  /// True when no partial message is waiting for more bytes.
  var isEmpty: Bool { pending.map { $0.readableBytes == 0 } ?? true }

  mutating func append(_ data: ByteBuffer) {
    if pending == nil || pending!.readableBytes == 0 {
      pending = data
    } else {
      pending!.writeImmutableBuffer(data)
    }
  }

  mutating func next() throws(RPCError) -> PrefixedMessage? {
    guard var buffer = pending, buffer.readableBytes >= PrefixedMessage.prefixLength,
      let flag = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
      let length = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt32.self)
    else { return nil }
    if flag != 0, encoding == .identity {
      throw RPCError(code: .internalError, message: "compressed message received, but no grpc-encoding names its compression")
    }
    guard length <= maxPayload else {
      throw RPCError(
        code: .resourceExhausted,
        message: "message of \(length) bytes exceeds the maximum request size of \(maxPayload) bytes")
    }
    guard let message = buffer.readSlice(length: PrefixedMessage.prefixLength + Int(length)) else { return nil }
    pending = buffer
    guard flag != 0 else { return PrefixedMessage(framed: message) }
    let compressed = message.getSlice(at: message.readerIndex + PrefixedMessage.prefixLength, length: Int(length))!
    return PrefixedMessage(payload: try encoding.inflate(compressed, limit: maxPayload))
  }
}
