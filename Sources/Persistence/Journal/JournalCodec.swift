import Core
import Foundation
import SwiftProtobuf

/// A `JournalChange` as the bytes of a `JournalRecord`, and back.
enum JournalCodec {
  /// A key's state and a key's removal, one per write, are written by `ProtoWriter`.
  static func encode(_ change: JournalChange) -> [UInt8] {
    var record = Keyquarry_Snapshot_JournalRecord()
    switch change {
    case .put(let key, let valueChanged, let sequence):
      var writer = ProtoWriter(capacity: (valueChanged ? key.value.count : 0) + key.key.utf8.count + 96)
      writer.message(valueChanged ? 1 : 2) { $0.keyRecord(key, withValue: valueChanged) }
      writer.integer(8, sequence)
      return writer.bytes
    case .remove(let key, let keepHistory, let sequence):
      var writer = ProtoWriter(capacity: key.utf8.count + 16)
      writer.message(3) {
        $0.string(1, key)
        $0.bool(2, keepHistory)
      }
      writer.integer(8, sequence)
      return writer.bytes
    case .clearHistory(let key):
      record.historyCleared = key
    case .register(let client, let date):
      record.register = .with {
        $0.client = client
        $0.at = UnixNanos.from(date)
      }
    case .readOnly(let enable):
      record.readOnly = enable
    case .sequence(let sequence):
      record.sequenceOnly = sequence
    }
    // Every field is settable from a JournalChange: serialising cannot fail.
    return try! record.serializedBytes()
  }

  struct Undecodable: Error {}

  static func decode(_ bytes: Data) throws -> JournalChange {
    let record = try Keyquarry_Snapshot_JournalRecord(serializedBytes: bytes)
    switch record.change {
    case .put(let key): return .put(key.snapshotKey, valueChanged: true, sequence: record.sequence)
    case .entry(let key): return .put(key.snapshotKey, valueChanged: false, sequence: record.sequence)
    case .remove(let removal):
      return .remove(key: removal.key, keepHistory: removal.keepHistory, sequence: record.sequence)
    case .historyCleared(let key): return .clearHistory(key: key)
    case .register(let registration):
      return .register(client: registration.client, at: UnixNanos.date(registration.at) ?? Date())
    case .readOnly(let enable): return .readOnly(enable)
    case .sequenceOnly(let sequence): return .sequence(sequence)
    case nil: throw Undecodable()
    }
  }
}
