import Core
import Foundation

/// Protobuf's wire format written by hand for the journal's two frequent records (a key's
/// state, a key's removal): one per write, where building SwiftProtobuf messages and
/// serialising them took several µs and allocations per record. The generated code still
/// reads them (`JournalCodec.decode`); a test checks both agree.
struct ProtoWriter {
  private(set) var bytes: [UInt8] = []

  init(capacity: Int) { bytes.reserveCapacity(capacity) }

  mutating func varint(_ value: UInt64) {
    var value = value
    while value >= 0x80 {
      bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
      value >>= 7
    }
    bytes.append(UInt8(value))
  }

  private mutating func tag(_ field: Int, _ wireType: UInt64) { varint(UInt64(field) << 3 | wireType) }

  /// uint64, and int64 as its two's complement (proto3 leaves zeros out).
  mutating func integer(_ field: Int, _ value: UInt64) {
    guard value != 0 else { return }
    tag(field, 0)
    varint(value)
  }

  mutating func integer(_ field: Int, _ value: Int64) { integer(field, UInt64(bitPattern: value)) }

  mutating func bool(_ field: Int, _ value: Bool) { integer(field, value ? UInt64(1) : 0) }

  mutating func bytes(_ field: Int, _ value: UnsafeRawBufferPointer) {
    guard !value.isEmpty else { return }
    tag(field, 2)
    varint(UInt64(value.count))
    bytes.append(contentsOf: value)
  }

  mutating func bytes(_ field: Int, _ value: Data) { value.withUnsafeBytes { bytes(field, $0) } }

  mutating func string(_ field: Int, _ value: String) {
    var value = value
    value.withUTF8 { bytes(field, UnsafeRawBufferPointer($0)) }
  }

  /// A nested message (written even when empty, as a set oneof member is).
  mutating func message(_ field: Int, _ body: (inout ProtoWriter) -> Void) {
    var nested = ProtoWriter(capacity: 32)
    body(&nested)
    tag(field, 2)
    varint(UInt64(nested.bytes.count))
    bytes.append(contentsOf: nested.bytes)
  }

  /// A `KeyRecord` (snapshot.proto) of `key`, its value left out when `withValue` is false.
  mutating func keyRecord(_ key: SnapshotKey, withValue: Bool) {
    string(1, key.key)
    if withValue { bytes(2, key.value) }
    string(3, key.contentType)
    integer(4, key.hash)
    integer(5, key.version)
    integer(6, UnixNanos.from(key.created))
    integer(7, UnixNanos.from(key.updated))
    string(8, key.createdBy)
    if let lock = key.lock {
      message(9) {
        $0.string(1, lock.owner)
        $0.integer(2, UnixNanos.from(lock.created))
        $0.integer(3, UnixNanos.from(lock.expires))
      }
    }
    if let lifespan = key.lifespan {
      message(10) {
        $0.integer(1, lifespan.duration.nanoseconds)
        $0.integer(2, UnixNanos.from(lifespan.setAt))
      }
    }
  }
}
