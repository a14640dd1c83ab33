import Core
import Foundation
import SwiftProtobuf

/// Turns a `StoreSnapshot` into chunks of length-delimited records (a record never spans
/// two chunks) and chunks back into a store. Built for 1M keys: records are encoded one
/// at a time into chunks of about `chunkSize` bytes, never into one big document.
enum SnapshotCodec {
  static let format: UInt32 = 1
  static let chunkSize = 4 * 1024 * 1024

  /// Calls `emit` with each chunk in order; returns the number of keys written.
  static func encode(_ snapshot: StoreSnapshot, writerVersion: String, emit: (Data) throws -> Void) throws -> Int {
    var chunk = Data()
    chunk.reserveCapacity(chunkSize)
    func append(_ record: Keyquarry_Snapshot_Record) throws {
      let bytes: Data = try record.serializedBytes()
      if !chunk.isEmpty, chunk.count + bytes.count > chunkSize {
        try emit(chunk)
        chunk.removeAll(keepingCapacity: true)
      }
      appendVarint(UInt64(bytes.count), to: &chunk)
      chunk.append(bytes)
    }

    var keys = 0
    try append(.with {
      $0.header = .with {
        $0.format = format
        $0.takenAt = nanos(snapshot.takenAt)
        $0.eventSequence = snapshot.eventSequence
        $0.clients = snapshot.clients
        $0.writerVersion = writerVersion
      }
    })
    try snapshot.forEachKey { key in
      keys += 1
      try append(.with { $0.key = Keyquarry_Snapshot_KeyRecord(key) })
    }
    try snapshot.forEachHistory { key, revisions in
      try append(.with {
        $0.history = .with {
          $0.key = key
          $0.revisions = revisions.map(Keyquarry_Snapshot_RevisionRecord.init)
        }
      })
    }
    try snapshot.forEachMetric { key, metric in
      try append(.with { $0.metric = Keyquarry_Snapshot_MetricRecord(key, metric) })
    }
    if !chunk.isEmpty { try emit(chunk) }
    return keys
  }

  /// Restores one chunk's records into `store` (call in order, before serving).
  static func restore(chunk: Data, into store: Store) throws {
    var offset = chunk.startIndex
    while offset < chunk.endIndex {
      let length = try readVarint(chunk, &offset)
      guard length <= UInt64(chunk.endIndex - offset) else { throw SnapshotError.corrupt("record runs past its chunk") }
      let end = offset + Int(length)
      let record = try Keyquarry_Snapshot_Record(serializedBytes: chunk[offset..<end])
      offset = end
      switch record.kind {
      case .header(let header):
        guard header.format <= format else { throw SnapshotError.corrupt("snapshot format \(header.format) is newer than this server") }
        store.restoreClients(header.clients, at: date(header.takenAt) ?? Date())
        store.restoreEventSequence(header.eventSequence)
      case .key(let key): store.restore(key.snapshotKey)
      case .history(let history):
        store.restoreHistory(history.key, history.revisions.map(\.revision))
      case .metric(let metric): store.restoreMetric(metric.key, metric.keyMetric)
      case nil: break  // a record kind from a newer writer: skip it
      }
    }
  }

  static func appendVarint(_ value: UInt64, to data: inout Data) {
    var value = value
    while value >= 0x80 {
      data.append(UInt8(value & 0x7F) | 0x80)
      value >>= 7
    }
    data.append(UInt8(value))
  }

  static func readVarint(_ data: Data, _ offset: inout Data.Index) throws -> UInt64 {
    var value: UInt64 = 0
    var shift: UInt64 = 0
    while offset < data.endIndex, shift < 64 {
      let byte = data[offset]
      offset += 1
      value |= UInt64(byte & 0x7F) << shift
      if byte < 0x80 { return value }
      shift += 7
    }
    throw SnapshotError.corrupt("truncated record length")
  }
}

func nanos(_ date: Date?) -> Int64 {
  guard let date else { return 0 }
  return Int64((date.timeIntervalSince1970 * 1e9).rounded())
}

func date(_ nanos: Int64) -> Date? {
  nanos == 0 ? nil : Date(timeIntervalSince1970: Double(nanos) / 1e9)
}

public enum SnapshotError: Error, CustomStringConvertible {
  case corrupt(String)
  case unsupportedDatabase(String)
  case notFound(Int64)

  public var description: String {
    switch self {
    case .corrupt(let why): "snapshot is corrupt: \(why)"
    case .unsupportedDatabase(let url): "unsupported snapshot database '\(url)': use sqlite:///path or postgres://…"
    case .notFound(let id): "no complete snapshot with id \(id)"
    }
  }
}
