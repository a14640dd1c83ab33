import NIOCore

/// A stream's identifier (RFC 9113 §5.1.1): odd for the streams a client opens; 0 is the
/// connection itself.
typealias StreamID = UInt32

/// The frame types a server reads or writes (RFC 9113 §6); others are ignored.
enum FrameType: UInt8 {
  case data = 0, headers, priority, rstStream, settings, pushPromise, ping, goAway, windowUpdate, continuation
}

/// Frame flags; ACK shares END_STREAM's bit on SETTINGS and PING.
enum FrameFlag {
  static let endStream: UInt8 = 0x1
  static let ack: UInt8 = 0x1
  static let endHeaders: UInt8 = 0x4
  static let padded: UInt8 = 0x8
  static let priority: UInt8 = 0x20
}

/// RFC 9113 §7.
enum HTTP2ErrorCode: UInt32 {
  case noError = 0, protocolError, internalError, flowControlError, settingsTimeout, streamClosed, frameSizeError
  case refusedStream, cancel, compressionError, connectError, enhanceYourCalm, inadequateSecurity, http11Required
}

/// What ends the connection: the GOAWAY code and why, for the debug data and the log.
struct ConnectionError: Error {
  let code: HTTP2ErrorCode
  let reason: String
  init(_ code: HTTP2ErrorCode, _ reason: String) {
    self.code = code
    self.reason = reason
  }
}

/// One frame as read: its header's fields and its payload, a slice of what the socket gave.
struct Frame {
  static let headerSize = 9
  /// The largest frame any peer must accept, and the largest this server accepts.
  static let defaultMaxSize = 1 << 14

  let type: UInt8
  let flags: UInt8
  let stream: StreamID
  var payload: ByteBuffer

  func has(_ flag: UInt8) -> Bool { flags & flag != 0 }

  /// Writes a frame header for a payload of `length` bytes.
  static func writeHeader(
    _ type: FrameType, flags: UInt8 = 0, stream: StreamID, length: Int, to buffer: inout ByteBuffer
  ) {
    buffer.writeInteger(UInt8(truncatingIfNeeded: length >> 16))
    buffer.writeInteger(UInt16(truncatingIfNeeded: length))
    buffer.writeInteger(type.rawValue)
    buffer.writeInteger(flags)
    buffer.writeInteger(stream)
  }
}

/// Cuts the bytes a connection reads into frames, after the client's connection preface.
struct FrameReader {
  static let preface: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

  private var buffered: ByteBuffer?
  private var prefaceRead = false

  mutating func append(_ bytes: ByteBuffer) {
    if buffered == nil || buffered!.readableBytes == 0 {
      buffered = bytes
    } else {
      var bytes = bytes
      buffered!.writeBuffer(&bytes)
    }
  }

  /// The next whole frame, or nil until more bytes arrive.
  mutating func next() throws(ConnectionError) -> Frame? {
    guard var bytes = buffered else { return nil }
    defer { buffered = bytes }
    if !prefaceRead {
      guard bytes.readableBytes >= Self.preface.count else {
        if !bytes.readableBytesView.elementsEqual(Self.preface.prefix(bytes.readableBytes)) {
          throw ConnectionError(.protocolError, "not an HTTP/2 connection preface")
        }
        return nil
      }
      guard bytes.readBytes(length: Self.preface.count) == Self.preface else {
        throw ConnectionError(.protocolError, "not an HTTP/2 connection preface")
      }
      prefaceRead = true
    }
    guard bytes.readableBytes >= Frame.headerSize,
      let high = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self),
      let low = bytes.getInteger(at: bytes.readerIndex + 1, as: UInt16.self)
    else { return nil }
    let length = Int(high) << 16 | Int(low)
    guard length <= Frame.defaultMaxSize else {
      throw ConnectionError(.frameSizeError, "a frame of \(length) bytes, more than SETTINGS_MAX_FRAME_SIZE")
    }
    guard bytes.readableBytes >= Frame.headerSize + length else { return nil }
    bytes.moveReaderIndex(forwardBy: 3)
    let type = bytes.readInteger(as: UInt8.self)!
    let flags = bytes.readInteger(as: UInt8.self)!
    let stream = bytes.readInteger(as: UInt32.self)! & 0x7FFF_FFFF
    let payload = bytes.readSlice(length: length)!
    return Frame(type: type, flags: flags, stream: stream, payload: payload)
  }
}
