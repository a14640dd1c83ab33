import Foundation

/// Everything kept about one key name: the live entry (if any), its lifetime metrics and
/// its retained revisions. One reference per key, so a shard's table holds 24-byte slots
/// (Swift's hash tables run 3/8 to 3/4 full, so a wide slot costs twice its size per key).
/// Copy-on-write like the standard collections: a snapshot's copy of a table stays as it
/// was while the store goes on mutating its own.
///
/// The live entry's revision is not stored twice: while retained it is implied by the
/// entry (`entryInHistory`), and `previous` holds only the older ones.
struct KeyRecord: Sendable {
  private final class Storage: @unchecked Sendable {  // mutated only while uniquely referenced
    var entry: Entry?
    /// All zero until something is recorded: that means "no metrics" (an optional would
    /// cost 8 bytes more per key, and push the object into the next malloc size).
    var metric = KeyMetric()
    var previous: [Revision] = []
    var entryInHistory = false

    init() {}

    init(copying other: Storage) {
      (entry, metric, previous, entryInHistory) = (other.entry, other.metric, other.previous, other.entryInHistory)
    }
  }

  private var storage = Storage()

  private mutating func unique() -> Storage {
    if !isKnownUniquelyReferenced(&storage) { storage = Storage(copying: storage) }
    return storage
  }

  var entry: Entry? { storage.entry }
  var metric: KeyMetric? { storage.metric == KeyMetric() ? nil : storage.metric }
  var isEmpty: Bool { storage.entry == nil && metric == nil && storage.previous.isEmpty }

  // MARK: - Entry

  /// Changes the live entry in place (it must exist); not for value changes, see `replace`.
  mutating func modifyEntry<R>(_ body: (inout Entry) -> R) -> R {
    body(&unique().entry!)
  }

  /// Makes `entry` the live one (the key has none: new, or restored), retained in the
  /// history under `limit` (0: none, -1: all, N: the newest N including the live one).
  mutating func insert(_ entry: Entry, revisionLimit limit: Int) {
    let storage = unique()
    storage.entry = entry
    Self.retainLive(in: storage, limit: limit)
  }

  /// Gives the live entry a new value in place (`body`), keeping the outgoing revision in
  /// the history; returns the changed entry.
  mutating func changeValue(revisionLimit limit: Int, _ body: (inout Entry) -> Void) -> Entry {
    let storage = unique()
    if limit != 0, storage.entryInHistory { storage.previous.append(storage.entry!.revision) }
    body(&storage.entry!)
    Self.retainLive(in: storage, limit: limit)
    return storage.entry!
  }

  private static func retainLive(in storage: Storage, limit: Int) {
    storage.entryInHistory = limit != 0
    if limit > 0, storage.previous.count > limit - 1 {
      storage.previous.removeFirst(storage.previous.count - (limit - 1))
    }
  }

  /// Takes the live entry away; its revision stays in the history when `keepHistory`.
  mutating func removeEntry(keepHistory: Bool) {
    let storage = unique()
    if keepHistory, storage.entryInHistory, let entry = storage.entry {
      storage.previous.append(entry.revision)
    } else if !keepHistory {
      storage.previous = []
    }
    storage.entry = nil
    storage.entryInHistory = false
  }

  mutating func record(_ kind: KeyEvent, at time: Date) {
    unique().metric.record(kind, at: time)
  }

  mutating func setMetric(_ metric: KeyMetric) { unique().metric = metric }

  // MARK: - History

  /// Retained revisions, oldest first.
  var history: [Revision] {
    guard storage.entryInHistory, let entry = storage.entry else { return storage.previous }
    return storage.previous + [entry.revision]
  }

  var historyCount: Int { storage.previous.count + (storage.entryInHistory ? 1 : 0) }

  var latestRevision: Revision? {
    if storage.entryInHistory, let entry = storage.entry { return entry.revision }
    return storage.previous.last
  }

  func revision(version: UInt64) -> Revision? {
    if storage.entryInHistory, let entry = storage.entry, entry.version == version { return entry.revision }
    return storage.previous.last { $0.version == version }
  }

  /// Forgets every retained revision, the live entry's included (behavior.md §3.11).
  mutating func clearHistory() {
    let storage = unique()
    storage.previous = []
    storage.entryInHistory = false
  }

  /// Puts saved revisions back; the last is recognised as the live entry's own when it
  /// matches it exactly.
  mutating func restoreHistory(_ revisions: [Revision]) {
    let storage = unique()
    storage.previous = revisions
    storage.entryInHistory = false
    if let entry = storage.entry, revisions.last == entry.revision {
      storage.previous.removeLast()
      storage.entryInHistory = true
    }
  }
}
