import NIOCore
import NIOHPACK

/// Hand-encoded protobuf and gRPC framing: the messages are tiny and the same for every
/// system, and a compiled client needs no generated code of etcd's.
enum Wire {
  static func varint(_ value: Int) -> [UInt8] {
    var value = UInt64(value)
    var bytes: [UInt8] = []
    while value >= 0x80 {
      bytes.append(UInt8(value & 0x7F) | 0x80)
      value >>= 7
    }
    return bytes + [UInt8(value)]
  }

  /// A length-delimited field.
  static func field(_ number: Int, _ bytes: [UInt8]) -> [UInt8] {
    varint(number << 3 | 2) + varint(bytes.count) + bytes
  }

  static func frame(_ message: [UInt8]) -> ByteBuffer {
    var buffer = ByteBuffer()
    buffer.writeInteger(UInt8(0))
    buffer.writeInteger(UInt32(message.count))
    buffer.writeBytes(message)
    return buffer
  }

  static func requestHeaders(path: String, authority: String, clientID: String?) -> HPACKHeaders {
    var headers: HPACKHeaders = [
      ":method": "POST", ":scheme": "http", ":path": path, ":authority": authority,
      "content-type": "application/grpc", "te": "trailers",
    ]
    if let clientID { headers.add(name: "client_id", value: clientID) }
    return headers
  }

  /// The numbers of a message's top-level fields.
  static func fieldNumbers(_ message: ByteBuffer) -> Set<Int> {
    var message = message
    var numbers: Set<Int> = []
    func readVarint() -> Int? {
      var value = 0
      var shift = 0
      while let byte = message.readInteger(as: UInt8.self) {
        value |= Int(byte & 0x7F) << shift
        if byte & 0x80 == 0 { return value }
        shift += 7
      }
      return nil
    }
    while let key = readVarint() {
      numbers.insert(key >> 3)
      switch key & 7 {
      case 0: _ = readVarint()
      case 1: message.moveReaderIndex(forwardBy: min(8, message.readableBytes))
      case 2: message.moveReaderIndex(forwardBy: min(readVarint() ?? 0, message.readableBytes))
      case 5: message.moveReaderIndex(forwardBy: min(4, message.readableBytes))
      default: return numbers
      }
    }
    return numbers
  }
}

/// Splits a stream's DATA into gRPC messages.
struct MessageSplitter {
  private var pending = ByteBuffer()

  mutating func append(_ data: ByteBuffer) -> [ByteBuffer] {
    var data = data
    pending.writeBuffer(&data)
    var messages: [ByteBuffer] = []
    while pending.readableBytes >= 5,
      let length = pending.getInteger(at: pending.readerIndex + 1, as: UInt32.self),
      pending.readableBytes >= 5 + Int(length)
    {
      pending.moveReaderIndex(forwardBy: 5)
      messages.append(pending.readSlice(length: Int(length))!)
    }
    pending.discardReadBytes()
    return messages
  }
}
