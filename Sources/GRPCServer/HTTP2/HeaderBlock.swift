import NIOCore
import NIOHPACK

/// An HPACK-encoded header block (RFC 7541) that uses no dynamic table: every field is a
/// literal "without indexing", so a block means the same on any connection and the
/// constant ones (the response head, the OK trailers) are encoded once for all.
struct HeaderBlock: Sendable {
  let bytes: ByteBuffer

  init(_ headers: HPACKHeaders) {
    var bytes = ByteBuffer()
    for (name, value, _) in headers {
      if name == ":status", let index = Self.statusIndex[value] {
        bytes.writeInteger(0x80 | index)  // indexed field of the static table
        continue
      }
      bytes.writeInteger(UInt8(0))  // literal without indexing, new name
      Self.writeString(name, to: &bytes)
      Self.writeString(value, to: &bytes)
    }
    self.bytes = bytes
  }

  /// `:status` values in the static table (RFC 7541 Appendix A).
  private static let statusIndex: [String: UInt8] = [
    "200": 8, "204": 9, "206": 10, "304": 11, "400": 12, "404": 13, "500": 14,
  ]

  /// A string literal without Huffman coding: a 7-bit-prefix length, then the bytes.
  private static func writeString(_ string: String, to bytes: inout ByteBuffer) {
    var length = string.utf8.count
    if length < 0x7F {
      bytes.writeInteger(UInt8(length))
    } else {
      bytes.writeInteger(UInt8(0x7F))
      length -= 0x7F
      while length >= 0x80 {
        bytes.writeInteger(UInt8(length & 0x7F | 0x80))
        length >>= 7
      }
      bytes.writeInteger(UInt8(length))
    }
    bytes.writeString(string)
  }

  /// A dynamic table size update to 0 (RFC 7541 §6.3): what a block must start with after
  /// the peer lowers SETTINGS_HEADER_TABLE_SIZE, since this encoder's table is always empty.
  static let emptyTable: UInt8 = 0x20
}
