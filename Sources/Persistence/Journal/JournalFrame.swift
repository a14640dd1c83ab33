import Foundation

/// How a record sits in a segment file: its length and its CRC-32C (4 bytes each, little
/// endian), then its bytes. A length of 0 marks the end (the file's preallocated rest
/// is zeros).
enum JournalFrame {
  static let headerSize = 8
  /// A record longer than this is damage, not data (values are at most max_value_size).
  static let maxLength = 1 << 30

  static func checksum(_ payload: [UInt8]) -> UInt32 { payload.withUnsafeBytes(CRC32C.checksum) }

  /// Appends `payload` framed to `buffer`; `checksum` is its `checksum(_:)`, taken
  /// before, outside the lock that guards `buffer`.
  static func append(_ payload: [UInt8], checksum: UInt32, to buffer: inout [UInt8]) {
    var header = (UInt32(payload.count).littleEndian, checksum.littleEndian)
    withUnsafeBytes(of: &header) { buffer.append(contentsOf: $0) }
    buffer.append(contentsOf: payload)
  }

  enum Read: Equatable {
    /// A whole record: its payload's range, and where the next frame starts.
    case record(Range<Int>, next: Int)
    /// Zeros, or the end of the file: no more records.
    case end
    /// A frame that is not whole or fails its checksum.
    case damaged
  }

  /// Reads the frame at `offset` of `bytes`.
  static func read(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Read {
    guard offset + headerSize <= bytes.count else {
      return isZero(bytes, from: offset) ? .end : .damaged
    }
    let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
    let checksum = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
    if length == 0 && checksum == 0 { return .end }
    let start = offset + headerSize
    guard length > 0, length <= maxLength, start + length <= bytes.count else { return .damaged }
    let payload = UnsafeRawBufferPointer(rebasing: bytes[start..<start + length])
    guard CRC32C.checksum(payload) == checksum else { return .damaged }
    return .record(start..<start + length, next: start + length)
  }

  /// Whether the damaged frame at `offset` is the last thing in the file: a write the
  /// machine stopped in (its frame runs past the end, or only zeros follow it) rather
  /// than damage to records that follow.
  static func isTornTail(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Bool {
    guard offset + headerSize <= bytes.count else { return true }
    let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
    let end = offset + headerSize + length
    return end >= bytes.count || isZero(bytes, from: end)
  }

  private static let zeros = [UInt8](repeating: 0, count: 1 << 16)

  /// Whether every byte from `offset` on is 0 (a segment's preallocated rest), compared
  /// with `memcmp` a block at a time.
  static func isZero(_ bytes: UnsafeRawBufferPointer, from offset: Int) -> Bool {
    zeros.withUnsafeBytes { zeros in
      var start = offset
      while start < bytes.count {
        let count = min(zeros.count, bytes.count - start)
        if memcmp(bytes.baseAddress! + start, zeros.baseAddress!, count) != 0 { return false }
        start += count
      }
      return true
    }
  }
}
