import Foundation
import GRPCCore
import KeyquarryProtos
import SwiftProtobuf
import Testing

/// The generated code must match the field tables of behavior.md §1 exactly: for each
/// field, bytes encoded by hand with the table's number and type must decode into a
/// known field (not unknown fields) and print under the table's JSON name and type.
/// A renumbered, retyped or renamed field fails here instead of breaking old clients.
@Suite struct WireContractTests {
  static let messages: [(any SwiftProtobuf.Message.Type, String)] = [
    (Keyquarry_KeyValue.self, "key 1 string; value 2 bytes; content_type 3 string; lock_duration 4 duration; lifespan 5 duration"),
    (Keyquarry_SetResponse.self, "success 1 bool; is_new 2 bool"),
    (Keyquarry_Key.self, "key 1 string"),
    (Keyquarry_GetResponse.self, "value 1 bytes"),
    (Keyquarry_InspectRequest.self, "key 1 string; include_value 2 bool; include_metrics 3 bool"),
    (
      Keyquarry_InspectResponse.self,
      "key 1 string; hash 2 uint64; created 3 timestamp; updated 4 timestamp; version 5 uint64; size 7 uint64; locked 8 bool; lifespan 9 duration; lifespan_set 10 timestamp; content_type 11 string; value 12 bytes; metrics 13 message"
    ),
    (Keyquarry_DeleteRequest.self, "key 1 string"),
    (Keyquarry_DeleteResponse.self, "deleted 1 bool"),
    (Keyquarry_ExistsResponse.self, "exists 1 bool"),
    (Keyquarry_PopRequest.self, "key 1 string"),
    (Keyquarry_ClearRequest.self, "force 1 bool"),
    (Keyquarry_ClearResponse.self, "success 1 bool; keys_deleted 2 uint64"),
    (Keyquarry_ListKeysRequest.self, "pattern 1 string; limit 2 uint64; include_reserved 3 bool"),
    (Keyquarry_ListKeysResponse.self, "keys 1 strings"),
    (Keyquarry_EmptyRequest.self, ""),
    (
      Keyquarry_ServerMetrics.self,
      "keys 1 uint64; total_size 2 uint64; current_locks 3 uint64; client_ids 4 uint64; reapers 5 uint64; event_subscribers 6 uint64; snapshots_created 7 uint64; eager_prune_triggered 8 uint64; prune_completed 9 uint64; events 10 message; pressure 11 message; history 12 message; snapshots_failed 13 uint64"
    ),
    (
      Keyquarry_EventMetrics.self,
      "new 1 uint64; updated 2 uint64; deleted 3 uint64; locked 4 uint64; unlocked 5 uint64; expired 6 uint64; expunged 7 uint64; accessed 8 uint64; lifespan_set 9 uint64; lifespan_renewed 10 uint64"
    ),
    (Keyquarry_KeyPressure.self, "keys 1 uint64; max 2 uint64; used 3 float"),
    (Keyquarry_HistoryMetrics.self, "keys 1 uint64; revisions 2 uint64"),
    (Keyquarry_ClearHistoryResponse.self, "keys 1 int64; cleared 2 int64"),
    (Keyquarry_LockRequest.self, "key 1 string; duration 2 duration; create_if_missing 3 bool"),
    (Keyquarry_LockResponse.self, "success 1 bool"),
    (Keyquarry_UnlockRequest.self, "key 1 string"),
    (Keyquarry_UnlockResponse.self, "success 1 bool"),
    (Keyquarry_GetRevisionRequest.self, "key 1 string; version 2 int64"),
    (Keyquarry_RevisionResponse.self, "value 1 bytes; timestamp 2 timestamp"),
    (Keyquarry_RegisterRequest.self, ""),
    (Keyquarry_RegisterResponse.self, "success 1 bool; client_id 2 string"),
    (Keyquarry_ReadOnlyRequest.self, "enable 1 bool"),
    (Keyquarry_ReadOnlyResponse.self, "success 1 bool"),
    (Keyquarry_WatchRequest.self, "keys 1 strings; events 2 events; client_ids 3 strings"),
    (Keyquarry_Event.self, "key 1 string; event 2 enum; time 3 timestamp; client_id 4 string"),
    (Keyquarry_KeyMetricRequest.self, "key 1 string"),
    (
      Keyquarry_KeyMetric.self,
      "access_count 1 uint64; first_accessed 2 timestamp; last_accessed 3 timestamp; set_count 4 uint64; first_set 5 timestamp; last_set 6 timestamp; lock_count 7 uint64; first_locked 8 timestamp; last_locked 9 timestamp"
    ),
    (Keyquarry_WatchKeyValueRequest.self, "key 1 string"),
    (
      Keyquarry_WatchKeyValueResponse.self,
      "key 1 string; value 2 bytes; content_type 3 string; hash 4 uint64; version 5 uint64; key_event 6 enum; event_client_id 7 string; event_timestamp 8 timestamp"
    ),
    (Keyquarry_ShutdownRequest.self, ""),
    (Keyquarry_ShutdownResponse.self, ""),
    (Keyquarry_PruneRequest.self, "prune_to 1 uint64; ignore_keys 2 strings"),
    (Keyquarry_PruneResponse.self, "pruned 1 uint64"),
    // keyquarry's addition to Admin (not in the original): new messages only.
    (Keyquarry_SnapshotRequest.self, ""),
    (Keyquarry_SnapshotResponse.self, "id 1 int64; keys 2 uint64; bytes 3 uint64"),
  ]

  @Test func everyFieldHasItsNumberTypeAndName() throws {
    for (type, table) in Self.messages {
      let fields = table.split(separator: ";").map { $0.split(separator: " ").map(String.init) }
      for field in fields where !field.isEmpty {
        let (name, number, kind) = (field[0], Int(field[1])!, field[2])
        let sample = Self.sample(kind)
        let decoded = try type.init(serializedBytes: Self.encode(number, sample.wire))
        let where_ = "\(type.protoMessageName).\(name)"
        #expect(decoded.unknownFields.data.isEmpty, "\(where_): field \(number) is not \(kind)")
        #expect(
          try decoded.jsonString() == "{\"\(Self.lowerCamel(name))\":\(sample.json)}",
          "\(where_): wrong JSON name or type")
      }
    }
  }

  @Test func messageNamesAreInPackageKeyquarry() {
    for (type, _) in Self.messages {
      #expect(type.protoMessageName.hasPrefix("keyquarry."))
    }
    #expect(Keyquarry_KeyValue.protoMessageName == "keyquarry.KeyValue")
    #expect(Keyquarry_ServerMetrics.protoMessageName == "keyquarry.ServerMetrics")
  }

  @Test func keyEventNumbers() throws {
    let names = [
      "NO_EVENT", "CREATED", "UPDATED", "DELETED", "EXPIRED", "LOCKED", "UNLOCKED", "EXPUNGED",
      "ACCESSED", "LIFESPAN_SET", "LIFESPAN_RENEWED",
    ]
    for (number, name) in names.enumerated() {
      let decoded = try Keyquarry_Event(jsonString: "{\"event\":\"\(name)\"}")
      #expect(decoded.event.rawValue == number, "\(name)")
    }
    #expect(Keyquarry_KeyEvent.allCases.count == names.count)
  }

  @Test func serviceAndMethodPaths() {
    #expect(Keyquarry_KeyQuarry.descriptor.fullyQualifiedService == "keyquarry.KeyQuarry")
    #expect(
      Keyquarry_KeyQuarry.Method.descriptors.map(\.method) == [
        "Set", "Get", "Inspect", "Delete", "Exists", "Pop", "Clear", "ListKeys", "Stats",
        "ClearHistory", "Lock", "Unlock", "GetRevision", "Register", "SetReadOnly", "WatchStream",
        "GetKeyMetric", "WatchKeyValue",
      ])
    #expect(Keyquarry_Admin.descriptor.fullyQualifiedService == "keyquarry.Admin")
    // The original's two methods keep their names; Snapshot is keyquarry's addition.
    #expect(Keyquarry_Admin.Method.descriptors.map(\.method) == ["Shutdown", "Prune", "Snapshot"])
  }

  // MARK: - Hand encoding

  enum Wire {
    case varint(UInt64)
    case fixed32(UInt32)
    case bytes([UInt8])
    case repeated([Wire])
  }

  static func sample(_ kind: String) -> (wire: Wire, json: String) {
    switch kind {
    case "string": (.bytes(Array("s".utf8)), "\"s\"")
    case "bytes": (.bytes([1, 2]), "\"AQI=\"")
    case "bool": (.varint(1), "true")
    case "uint64": (.varint(1 << 63 + 1), "\"9223372036854775809\"")
    case "int64": (.varint(UInt64(bitPattern: -2)), "\"-2\"")
    case "float": (.fixed32(Float(1.5).bitPattern), "1.5")
    case "enum": (.varint(2), "\"UPDATED\"")
    case "timestamp": (.bytes(encode(1, .varint(1))), "\"1970-01-01T00:00:01Z\"")
    case "duration": (.bytes(encode(1, .varint(30))), "\"30s\"")
    case "message": (.bytes([]), "{}")
    case "strings": (.repeated([.bytes(Array("a".utf8)), .bytes(Array("b".utf8))]), "[\"a\",\"b\"]")
    case "events": (.bytes([1, 2]), "[\"CREATED\",\"UPDATED\"]")  // packed
    default: fatalError("unknown kind \(kind)")
    }
  }

  static func encode(_ number: Int, _ wire: Wire) -> [UInt8] {
    switch wire {
    case .varint(let value): varint(UInt64(number << 3)) + varint(value)
    case .fixed32(let value): varint(UInt64(number << 3 | 5)) + withUnsafeBytes(of: value.littleEndian, Array.init)
    case .bytes(let bytes): varint(UInt64(number << 3 | 2)) + varint(UInt64(bytes.count)) + bytes
    case .repeated(let items): items.flatMap { encode(number, $0) }
    }
  }

  static func varint(_ value: UInt64) -> [UInt8] {
    var value = value
    var bytes: [UInt8] = []
    repeat {
      var byte = UInt8(value & 0x7F)
      value >>= 7
      if value != 0 { byte |= 0x80 }
      bytes.append(byte)
    } while value != 0
    return bytes
  }

  static func lowerCamel(_ name: String) -> String {
    let parts = name.split(separator: "_")
    return String(parts[0]) + parts.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
  }
}
