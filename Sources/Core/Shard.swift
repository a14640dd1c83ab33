import Foundation
import HeapModule
import Synchronization

/// One slice of the keyspace with its own lock, so operations on different keys run in
/// parallel. Everything about a key (entry, history, metrics, timers) lives in one shard.
final class Shard: Sendable {
  let state: Mutex<ShardState>

  init(nextExpiry: NextExpiry) { state = Mutex(ShardState(nextExpiry: nextExpiry)) }
}

/// A shard's keys. Reads hand out copies (`Entry`, `Data`), never a record to hold while
/// changing it: a record is changed in place only while the table alone references it.
struct ShardState {
  /// One record per key name seen: live keys, and deleted ones whose metrics or history remain.
  private(set) var table = KeyTable()
  var timers = Heap<Timer>()
  /// Timer heap size above which stale timers are compacted away.
  var compactTimersAt = 1024
  /// The store's, told of every timer scheduled here.
  let nextExpiry: NextExpiry
  var creators = SharedString()
  private var contentTypes = SharedString()

  init(nextExpiry: NextExpiry) { self.nextExpiry = nextExpiry }

  func entry(_ key: String) -> Entry? { table[key]?.entry }

  /// The content type to store: the one given, or else the value's sniffed one.
  mutating func contentType(_ given: String, of value: Data) -> String {
    contentTypes.share(given.isEmpty ? ContentSniffer.contentType(of: value) : given)
  }

  /// The live value as `client` may read it (not locked by another client), copied out.
  func readableValue(_ key: String, by client: String) throws(StoreError) -> Data {
    guard let record = table[key], let locked = record.isLocked(against: client) else { throw .notFound }
    if locked { throw .locked }
    return record.value
  }

  func snapshot(_ key: String) -> ValueSnapshot? { table[key]?.snapshot }

  /// For reading only, in one expression: a change while it is held copies the record.
  func record(_ key: String) -> KeyRecord? { table[key] }

  /// The live keys, in table order.
  var entries: some Sequence<(key: String, entry: Entry)> {
    table.records.lazy.compactMap { record in record.entry.map { (record.key, $0) } }
  }

  /// Changes the live entry of `key` in place; the key must exist.
  mutating func modifyEntry<R>(_ key: String, _ body: (inout Entry) -> R) -> R {
    table.modify(key) { $0.modifyEntry(body) }!
  }

  /// Makes `entry` with `value` the live entry of `key`, which has none, with its revision.
  mutating func insert(_ key: String, _ entry: Entry, value: Data, revisionLimit: Int) {
    table.update(key) { bytes, record in
      let header = record?.inserting(entry, revisionLimit: revisionLimit)
        ?? KeyRecord.Header(entry: entry, revisionLimit: revisionLimit)
      return KeyRecord.make(key: bytes, value: value, header: header)
    }
  }

  /// Gives `key`'s live entry `value` and changes its metadata (`body`), keeping the
  /// outgoing revision; returns the outgoing value's size.
  mutating func changeValue(
    _ key: String, to value: Data, revisionLimit: Int, _ body: (inout Entry) -> Void
  ) -> Int {
    var outgoing = 0
    table.update(key) { bytes, record in
      outgoing = record!.valueCount
      return KeyRecord.make(key: bytes, value: value, header: record!.changingValue(revisionLimit: revisionLimit, body))
    }
    return outgoing
  }

  /// Takes the live entry away and returns the record that held it (for the event's value).
  @discardableResult
  mutating func removeEntry(_ key: String, keepHistory: Bool) -> KeyRecord? {
    var removed: KeyRecord?
    table.update(key) { bytes, record in
      guard let record, record.entry != nil else { return record }
      removed = record
      return record.removingEntry(keepHistory: keepHistory).map { KeyRecord.make(key: bytes, value: Data(), header: $0) }
    }
    return removed
  }

  mutating func record(_ kind: KeyEvent, _ key: String, at time: Date) {
    if table.modify(key, { $0.record(kind, at: time) }) == nil { change(key) { $0.record(kind, at: time) } }
  }

  mutating func setMetric(_ key: String, _ metric: KeyMetric) {
    change(key) { $0.setMetric(metric) }
  }

  mutating func restoreHistory(_ key: String, _ revisions: [Revision]) {
    change(key) { $0.restoreHistory(revisions) }
  }

  /// Empties every history, dropping records left with nothing; returns the keys whose
  /// history it emptied and the revisions removed.
  mutating func clearHistories() -> (keys: [String], cleared: Int) {
    let histories = table.records.filter { $0.historyCount > 0 }.map { ($0.key, $0.historyCount) }
    for (key, _) in histories { clearHistory(key) }
    return (histories.map(\.0), histories.reduce(0) { $0 + $1.1 })
  }

  mutating func clearHistory(_ key: String) {
    change(key) { $0.clearHistory() }
  }

  /// Runs `body` on the record of `key` (a new one if it has none) and drops the record
  /// if it is left empty.
  private mutating func change(_ key: String, _ body: (KeyRecord) -> Void) {
    if table.modify(key, body) == nil {
      table.update(key) { bytes, _ in KeyRecord.make(key: bytes, value: Data(), header: KeyRecord.Header()) }
      table.modify(key, body)
    }
    if table[key]!.isEmpty { table.update(key) { _, _ in nil } }
  }

  mutating func schedule(_ timer: Timer) {
    timers.insert(timer)
    nextExpiry.lower(to: timer.deadline)
    guard timers.count > compactTimersAt else { return }
    // Renewals leave stale timers behind; rebuild from the live deadlines.
    var live: [Timer] = []
    for (key, entry) in entries {
      if let lifespan = entry.lifespan { live.append(Timer(deadline: lifespan.expires, key: key, kind: .lifespan)) }
      if let lock = entry.lock { live.append(Timer(deadline: lock.expires, key: key, kind: .lock)) }
    }
    timers = Heap(live)
    compactTimersAt = max(1024, live.count * 2)
  }
}
