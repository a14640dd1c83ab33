import Core
import Foundation
import SwiftProtobuf

/// A `JournalChange` as the bytes of a `JournalRecord`, and back.
enum JournalCodec {
  static func encode(_ change: JournalChange) -> Data {
    var record = Keyquarry_Snapshot_JournalRecord()
    switch change {
    case .put(let key, let valueChanged, let sequence):
      if valueChanged { record.put = .init(key) } else { record.entry = .init(key) }
      record.sequence = sequence
    case .remove(let key, let keepHistory, let sequence):
      record.remove = .with {
        $0.key = key
        $0.keepHistory = keepHistory
      }
      record.sequence = sequence
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
    return try! record.serializedData()
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
