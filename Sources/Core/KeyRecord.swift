import Foundation

/// Everything kept about one key name, in one allocation: a header (the live entry's
/// metadata, the key metrics, the older revisions), then the key's UTF-8 bytes and the
/// live value's bytes. A 16-byte key with a 100-byte value takes one 240-byte block,
/// where a `String`, a `Data` and a record object took about 450 bytes in four blocks.
///
/// Copy-on-write: a snapshot's table shares the store's records, so a record is changed
/// in place only while uniquely referenced (`KeyTable.modify` copies it first otherwise).
/// A new value makes a new record, so a record's bytes never change once written; reads
/// copy them out.
final class KeyRecord: ManagedBuffer<KeyRecord.Header, UInt8> {
  struct Header {
    /// Nil while the metrics are all zero or implied by the entry (`createdOnly`).
    var metric: MetricBox? = nil
    /// The retained revisions older than the live entry's, oldest first.
    var previous: [Revision] = []
    /// Set by `make`.
    var keyCount: UInt32 = 0
    var valueCount: UInt32 = 0
    /// Nil for a key name that is gone but whose metrics or history remain.
    var entry: Entry? = nil
    /// The live entry's revision is retained; it is implied by the entry, not stored twice.
    var entryInHistory = false
    /// All the metrics recorded is the live entry's creation, so they are derived from
    /// it: a key set once and never read needs no metrics box.
    var createdOnly = false

    /// The header of a new key name's record whose live entry is `entry`, retained in the
    /// history under `limit` (0: none, -1: all, N: the newest N including the live one).
    init(entry: Entry, revisionLimit limit: Int) {
      self.entry = entry
      retainLive(limit: limit)
    }

    init() {}

    fileprivate mutating func retainLive(limit: Int) {
      entryInHistory = limit != 0
      if limit > 0, previous.count > limit - 1 {
        previous.removeFirst(previous.count - (limit - 1))
      }
    }
  }

  /// About what a retained revision takes besides its value.
  static let revisionOverhead = 64
  /// About what a record takes besides its key and values: its block's header, its
  /// table slot, its metrics.
  static let recordOverhead = 160

  /// The bytes the record holds, as `max_memory` counts them. Summed, not kept: the
  /// header stays within its 100 bytes, and histories are short (`revision_limit`).
  var footprint: Int {
    header.previous.reduce(Self.recordOverhead + keyCount + valueCount) { $0 + $1.value.count + Self.revisionOverhead }
  }

  final class MetricBox {
    var metric: KeyMetric
    init(_ metric: KeyMetric) { self.metric = metric }
  }

  /// A record of `key` with `header`, holding `value` as the live value's bytes.
  static func make(key: UnsafeBufferPointer<UInt8>, value: Data, header: Header) -> KeyRecord {
    var header = header
    header.keyCount = UInt32(key.count)
    header.valueCount = UInt32(value.count)
    return allocate(header) { bytes in
      if let base = key.baseAddress { bytes.initialize(from: base, count: key.count) }
      value.copyBytes(to: bytes + key.count, count: value.count)
    }
  }

  /// A copy to change, when a snapshot shares this one.
  func copy() -> KeyRecord {
    withUnsafeMutablePointerToElements { source in
      KeyRecord.allocate(header) { $0.initialize(from: source, count: keyCount + valueCount) }
    }
  }

  private static func allocate(_ header: Header, _ fill: (UnsafeMutablePointer<UInt8>) -> Void) -> KeyRecord {
    let record = unsafeDowncast(
      create(minimumCapacity: Int(header.keyCount) + Int(header.valueCount)) { _ in header }, to: KeyRecord.self)
    record.withUnsafeMutablePointerToElements(fill)
    return record
  }

  // MARK: - Reading

  private var keyCount: Int { Int(header.keyCount) }
  var valueCount: Int { Int(header.valueCount) }

  func withKeyBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
    withUnsafeMutablePointerToElements { body(UnsafeBufferPointer(start: $0, count: keyCount)) }
  }

  func hasKey(_ key: UnsafeBufferPointer<UInt8>) -> Bool {
    key.count == keyCount
      && (keyCount == 0 || withUnsafeMutablePointerToElements { memcmp($0, key.baseAddress!, keyCount) == 0 })
  }

  var key: String { withKeyBytes { String(decoding: $0, as: UTF8.self) } }

  var entry: Entry? { header.entry }

  /// Nil without a live entry.
  func isLocked(against client: String) -> Bool? { header.entry?.isLocked(against: client) }

  /// The live value's bytes, copied (empty without a live entry).
  var value: Data {
    withUnsafeMutablePointerToElements { Data(bytes: $0 + keyCount, count: valueCount) }
  }

  var snapshot: ValueSnapshot? {
    header.entry.map { entry in
      ValueSnapshot(
        value: value, contentType: entry.contentType, hash: entry.hash, version: entry.version,
        lockOwner: entry.lock?.owner)
    }
  }

  /// Nil while nothing was recorded.
  var metric: KeyMetric? {
    if let box = header.metric { return box.metric }
    guard header.createdOnly, let entry = header.entry else { return nil }
    var metric = KeyMetric()
    metric.record(.created, at: entry.created)
    return metric
  }

  var isEmpty: Bool { header.entry == nil && metric == nil && header.previous.isEmpty }

  // MARK: - History

  /// The revision the live entry's value was recorded as.
  var liveRevision: Revision? {
    header.entry.map { entry in
      Revision(
        version: entry.version, value: value, contentType: entry.contentType, hash: entry.hash,
        recorded: entry.updated ?? entry.created)
    }
  }

  /// Retained revisions, oldest first.
  var history: [Revision] {
    guard header.entryInHistory, let live = liveRevision else { return header.previous }
    return header.previous + [live]
  }

  var historyCount: Int { header.previous.count + (header.entryInHistory ? 1 : 0) }

  var latestVersion: UInt64? {
    header.entryInHistory ? header.entry?.version : header.previous.last?.version
  }

  func revision(version: UInt64) -> Revision? {
    if header.entryInHistory, header.entry?.version == version { return liveRevision }
    return header.previous.last { $0.version == version }
  }

  // MARK: - Changing in place (uniquely referenced only)

  func modifyEntry<R>(_ body: (inout Entry) -> R) -> R { body(&header.entry!) }

  func record(_ kind: KeyEvent, at time: Date) {
    if header.metric == nil, !header.createdOnly, kind == .created, header.entry?.created == time {
      header.createdOnly = true
      return
    }
    if header.metric == nil || !isKnownUniquelyReferenced(&header.metric!) {
      header.metric = MetricBox(metric ?? KeyMetric())
      header.createdOnly = false
    }
    header.metric!.metric.record(kind, at: time)
  }

  func setMetric(_ metric: KeyMetric) {
    header.metric = metric == KeyMetric() ? nil : MetricBox(metric)
    header.createdOnly = false
  }

  /// Forgets every retained revision, the live entry's included.
  func clearHistory() {
    header.previous = []
    header.entryInHistory = false
  }

  /// Puts saved revisions back; the last is recognised as the live entry's own when it
  /// matches it exactly.
  func restoreHistory(_ revisions: [Revision]) {
    header.previous = revisions
    header.entryInHistory = false
    if let live = liveRevision, revisions.last == live {
      header.previous.removeLast()
      header.entryInHistory = true
    }
  }

  // MARK: - Replacing

  /// The header with `entry` as the live entry (the key has none), retained as in a new
  /// record's.
  func inserting(_ entry: Entry, revisionLimit limit: Int) -> Header {
    var header = header
    header.entry = entry
    header.retainLive(limit: limit)
    return header
  }

  /// The header after the live entry's value changed (`body`), the outgoing revision kept.
  func changingValue(revisionLimit limit: Int, _ body: (inout Entry) -> Void) -> Header {
    var header = header
    if limit != 0, header.entryInHistory, let live = liveRevision { header.previous.append(live) }
    body(&header.entry!)
    header.retainLive(limit: limit)
    return header
  }

  /// The header without the live entry, whose revision stays in the history when
  /// `keepHistory`; nil when nothing would be left.
  func removingEntry(keepHistory: Bool) -> Header? {
    var header = header
    if header.createdOnly { header.metric = metric.map(MetricBox.init) }
    header.createdOnly = false
    if keepHistory, header.entryInHistory, let live = liveRevision {
      header.previous.append(live)
    } else if !keepHistory {
      header.previous = []
    }
    header.entry = nil
    header.entryInHistory = false
    return header.metric == nil && header.previous.isEmpty ? nil : header
  }
}
