import Foundation
import HeapModule
import Synchronization

/// One slice of the keyspace with its own lock, so operations on different keys run in
/// parallel. Everything about a key (entry, history, metrics, timers) lives in one shard.
final class Shard: Sendable {
  let state = Mutex(ShardState())
}

struct ShardState {
  /// One record per key name seen: live keys, and deleted ones whose metrics or history remain.
  private(set) var records: [String: KeyRecord] = [:]
  var timers = Heap<Timer>()
  /// Timer heap size above which stale timers are compacted away.
  var compactTimersAt = 1024

  func entry(_ key: String) -> Entry? { records[key]?.entry }

  /// The live keys, in table order.
  var entries: some Sequence<(key: String, entry: Entry)> {
    records.lazy.compactMap { key, record in record.entry.map { (key, $0) } }
  }

  /// Changes the live entry of `key` in place; the key must exist.
  mutating func modifyEntry<R>(_ key: String, _ body: (inout Entry) -> R) -> R {
    records[key]!.modifyEntry(body)
  }

  /// Makes `entry` the live entry of `key`, which has none, with its revision.
  mutating func insert(_ key: String, _ entry: Entry, revisionLimit: Int) {
    records[key, default: KeyRecord()].insert(entry, revisionLimit: revisionLimit)
  }

  /// Changes the value of `key`'s live entry in place (`body`), with the revisions.
  mutating func changeValue(_ key: String, revisionLimit: Int, _ body: (inout Entry) -> Void) -> Entry {
    records[key]!.changeValue(revisionLimit: revisionLimit, body)
  }

  mutating func removeEntry(_ key: String, keepHistory: Bool) {
    update(key) { $0.removeEntry(keepHistory: keepHistory) }
  }

  mutating func record(_ kind: KeyEvent, _ key: String, at time: Date) {
    records[key, default: KeyRecord()].record(kind, at: time)
  }

  mutating func setMetric(_ key: String, _ metric: KeyMetric) {
    records[key, default: KeyRecord()].setMetric(metric)
  }

  mutating func restoreHistory(_ key: String, _ revisions: [Revision]) {
    records[key, default: KeyRecord()].restoreHistory(revisions)
    if records[key]!.isEmpty { records[key] = nil }
  }

  /// Empties every history, dropping records left with nothing; returns (lists, revisions).
  mutating func clearHistories() -> (keys: Int, cleared: Int) {
    var keys = 0
    var cleared = 0
    for key in Array(records.keys) where records[key]!.historyCount > 0 {
      keys += 1
      cleared += records[key]!.historyCount
      update(key) { $0.clearHistory() }
    }
    return (keys, cleared)
  }

  /// Runs `body` on an existing record and drops the record if it is left empty.
  private mutating func update(_ key: String, _ body: (inout KeyRecord) -> Void) {
    guard records[key] != nil else { return }
    body(&records[key]!)
    if records[key]!.isEmpty { records[key] = nil }
  }

  mutating func schedule(_ timer: Timer) {
    timers.insert(timer)
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
