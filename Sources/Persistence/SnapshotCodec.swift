import Core
import Foundation
import SwiftProtobuf

/// The chunks of one snapshot: length-delimited records (a record never spans two
/// chunks), encoded one at a time as the database asks for the next chunk, so a snapshot
/// of 1M keys is never one big document in memory. One consumer only.
public final class SnapshotChunks: Sequence, IteratorProtocol, @unchecked Sendable {
  static let size = 4 * 1024 * 1024
  private var records: AnyIterator<Keyquarry_Snapshot_Record>
  private var carried: Data?
  private let countKeys: () -> Int

  /// Keys encoded so far; all of them once the chunks are exhausted.
  public var keyCount: Int { countKeys() }

  public init(_ snapshot: StoreSnapshot, writerVersion: String) {
    let header = Keyquarry_Snapshot_Record.with {
      $0.header = .with {
        $0.format = SnapshotCodec.format
        $0.takenAt = UnixNanos.from(snapshot.takenAt)
        $0.eventSequence = snapshot.eventSequence
        $0.journalSegment = snapshot.journalSegment
        $0.clients = snapshot.clients
        $0.writerVersion = writerVersion
      }
    }
    var counted = 0
    let keys = snapshot.keys.lazy.map { key in
      counted += 1
      return Keyquarry_Snapshot_Record.with { $0.key = Keyquarry_Snapshot_KeyRecord(key) }
    }
    let histories = snapshot.histories.lazy.map { history in
      Keyquarry_Snapshot_Record.with {
        $0.history = .with {
          $0.key = history.key
          $0.revisions = history.revisions.map(Keyquarry_Snapshot_RevisionRecord.init)
        }
      }
    }
    let metrics = snapshot.metrics.lazy.map { metric in
      Keyquarry_Snapshot_Record.with { $0.metric = Keyquarry_Snapshot_MetricRecord(metric.key, metric.metric) }
    }
    var parts = [AnyIterator(CollectionOfOne(header).makeIterator()), AnyIterator(keys.makeIterator()),
      AnyIterator(histories.makeIterator()), AnyIterator(metrics.makeIterator())].makeIterator()
    var current = parts.next()
    records = AnyIterator {
      while let iterator = current {
        if let record = iterator.next() { return record }
        current = parts.next()
      }
      return nil
    }
    countKeys = { counted }
  }

  public func next() -> Data? {
    var chunk = carried ?? Data()
    carried = nil
    while let record = records.next() {
      // Proto3 messages without required fields always serialize.
      let bytes: Data = (try? record.serializedBytes()) ?? Data()
      var framed = Data()
      SnapshotCodec.appendVarint(UInt64(bytes.count), to: &framed)
      framed.append(bytes)
      if !chunk.isEmpty, chunk.count + framed.count > Self.size {
        carried = framed
        break
      }
      chunk.append(framed)
    }
    return chunk.isEmpty ? nil : chunk
  }
}

enum SnapshotCodec {
  static let format: UInt32 = 1

  /// Restores one chunk's records into `store` (call in order, before serving); returns
  /// the header's journal segment when the chunk holds the header.
  @discardableResult
  static func restore(chunk: Data, into store: Store) throws -> UInt64? {
    var journalSegment: UInt64?
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
        store.restoreClients(header.clients, at: UnixNanos.date(header.takenAt) ?? Date())
        store.restoreEventSequence(header.eventSequence)
        journalSegment = header.journalSegment
      case .key(let key): store.restore(key.snapshotKey)
      case .history(let history):
        store.restoreHistory(history.key, history.revisions.map(\.revision))
      case .metric(let metric): store.restoreMetric(metric.key, metric.keyMetric)
      case nil: break  // a record kind from a newer writer: skip it
      }
    }
    return journalSegment
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

public enum SnapshotError: Error, CustomStringConvertible {
  case corrupt(String)
  case unsupportedDatabase(String)
  case notFound(Int64)
  /// What could not be reached, and why.
  case unreachable(String, String)
  /// The database (named) is claimed by others, so this claim cannot be had now.
  case inUse(String, SnapshotClaim)

  public var description: String {
    switch self {
    case .corrupt(let why): "snapshot is corrupt: \(why)"
    case .unsupportedDatabase(let url): "unsupported snapshot database '\(url)': use sqlite:///path or postgres://…"
    case .notFound(let id): "no complete snapshot with id \(id)"
    case .unreachable(let what, let why): "cannot reach \(what): \(why)"
    case .inUse(let database, .alone):
      "a running server uses the snapshot database \(database): stop it first (its shutdown snapshot would replace the restored one)"
    case .inUse(let database, .server):
      "a snapshot restore is using the snapshot database \(database): start the server once it is done"
    }
  }
}
