import Foundation
import Synchronization

/// One key as a snapshot holds it. Times are absolute, so a restored lifespan or lock
/// ends when it would have ended without the restart (expired ones are dropped).
public struct SnapshotKey: Sendable, Equatable {
  public var key: String
  public var value: Data
  public var contentType: String
  public var hash: UInt64
  public var version: UInt64
  public var created: Date
  public var updated: Date?
  public var createdBy: String
  public var lock: SnapshotLock?
  public var lifespan: SnapshotLifespan?

  public init(
    key: String, value: Data, contentType: String, hash: UInt64, version: UInt64, created: Date,
    updated: Date?, createdBy: String, lock: SnapshotLock?, lifespan: SnapshotLifespan?
  ) {
    (self.key, self.value, self.contentType, self.hash, self.version) = (key, value, contentType, hash, version)
    (self.created, self.updated, self.createdBy, self.lock, self.lifespan) = (created, updated, createdBy, lock, lifespan)
  }
}

extension SnapshotKey {
  init(_ key: String, _ entry: Entry, value: Data) {
    self.init(
      key: key, value: value, contentType: entry.contentType, hash: entry.hash,
      version: entry.version, created: entry.created, updated: entry.updated, createdBy: entry.createdBy,
      lock: entry.lock.map { SnapshotLock(owner: $0.owner, created: $0.created, expires: $0.expires) },
      lifespan: entry.lifespan.map { SnapshotLifespan(duration: $0.duration, setAt: $0.setAt) })
  }

  /// The entry it describes, its lock kept even if it has run out.
  var entry: Entry {
    Entry(
      contentType: contentType, hash: hash, version: version, created: created, updated: updated,
      createdBy: createdBy, lock: lock.map { LockState(owner: $0.owner, created: $0.created, expires: $0.expires) },
      lifespan: lifespan.map { Lifespan(duration: $0.duration, setAt: $0.setAt) }, isReserved: false)
  }
}

public struct SnapshotLock: Sendable, Equatable {
  public var owner: String
  public var created: Date
  public var expires: Date

  public init(owner: String, created: Date, expires: Date) {
    (self.owner, self.created, self.expires) = (owner, created, expires)
  }
}

public struct SnapshotLifespan: Sendable, Equatable {
  public var duration: Duration
  public var setAt: Date
  public var expires: Date { setAt + duration }

  public init(duration: Duration, setAt: Date) {
    (self.duration, self.setAt) = (duration, setAt)
  }
}

/// A point-in-time copy of the store, taken shard by shard. Taking it holds each shard's
/// lock only for a copy-on-write copy of its table; the records are built afterwards,
/// outside any lock, while the store keeps serving.
public struct StoreSnapshot: Sendable {
  public let takenAt: Date
  public let eventSequence: UInt64
  public let clients: [String]
  /// Each shard's table of records, as it was.
  fileprivate let shards: [KeyTable]
  /// The last journal segment whose changes the snapshot holds (0: no journal).
  public let journalSegment: UInt64

  private var userRecords: some Sequence<(key: String, record: KeyRecord)> {
    shards.lazy.flatMap { $0.records.lazy.map { ($0.key, $0) }.filter { !ClientID.isReserved(key: $0.0) } }
  }

  /// The number of user keys held.
  public var keyCount: Int { userRecords.reduce(0) { $0 + ($1.record.entry == nil ? 0 : 1) } }

  /// The user keys, built one at a time as they are read.
  public var keys: some Sequence<SnapshotKey> {
    userRecords.lazy.compactMap { key, record in record.entry.map { SnapshotKey(key, $0, value: record.value) } }
  }

  public var histories: some Sequence<(key: String, revisions: [Revision])> {
    userRecords.lazy.filter { $0.record.historyCount > 0 }.map { ($0.key, $0.record.history) }
  }

  public var metrics: some Sequence<(key: String, metric: KeyMetric)> {
    userRecords.lazy.compactMap { key, record in record.metric.map { (key, $0) } }
  }
}

extension Store {
  /// Copies the store for a snapshot; see `StoreSnapshot`.
  /// With a journal, every shard is locked for the copies (a few µs of table copies), so
  /// that the snapshot holds exactly what the journal's segments up to the cut hold.
  public func snapshot() -> StoreSnapshot {
    guard let journal else {
      let copies = shards.map { shard in shard.state.withLock { $0.table } }
      return StoreSnapshot(
        takenAt: clock.now(), eventSequence: bus.sequence,
        clients: clients.withLock { Array($0.keys) }.sorted(), shards: copies, journalSegment: 0)
    }
    return withEveryShardLocked { tables in
      clients.withLock { clients in
        StoreSnapshot(
          takenAt: clock.now(), eventSequence: bus.sequence, clients: Array(clients.keys).sorted(),
          shards: tables, journalSegment: journal.cut())
      }
    }
  }

  /// Runs `body` with the tables of every shard, all locked (always in shard order).
  private func withEveryShardLocked<R: Sendable>(_ body: ([KeyTable]) -> R) -> R {
    func lock(from index: Int, _ tables: inout [KeyTable]) -> R {
      guard index < shards.count else { return body(tables) }
      return shards[index].state.withLock { state in
        tables.append(state.table)
        return lock(from: index + 1, &tables)
      }
    }
    var tables: [KeyTable] = []
    tables.reserveCapacity(shards.count)
    return lock(from: 0, &tables)
  }

  /// Records a successful or failed snapshot in Stats.
  public func countSnapshot(succeeded: Bool) {
    (succeeded ? counters.snapshotsCreated : counters.snapshotsFailed).add(1)
  }

  /// Whether any user key changed since the last call (the periodic snapshot's test).
  public func takeChangedFlag() -> Bool {
    bus.changed.exchange(false, ordering: .relaxed)
  }

  /// Keeps a change pending, after a snapshot of it failed.
  public func markChanged() {
    bus.changed.store(true, ordering: .relaxed)
  }

  // MARK: - Restore (before serving)

  /// Puts a saved key back, with its lock and lifespan if they have not run out.
  /// Returns false when the key's lifespan already ended (the key is dropped).
  @discardableResult
  public func restore(_ saved: SnapshotKey) -> Bool {
    let now = clock.now()
    if let lifespan = saved.lifespan, lifespan.expires <= now { return false }
    return withShard(of: saved.key) { state in
      if let existing = state.entry(saved.key) { remove(saved.key, existing, dropHistory: false, &state) }
      var lock: LockState?
      if let saved = saved.lock, saved.expires > now {
        lock = LockState(owner: saved.owner, created: saved.created, expires: saved.expires)
      }
      let entry = Entry(
        contentType: saved.contentType, hash: saved.hash, version: saved.version,
        created: saved.created, updated: saved.updated, createdBy: saved.createdBy, lock: lock,
        lifespan: saved.lifespan.map { Lifespan(duration: $0.duration, setAt: $0.setAt) }, isReserved: false)
      state.insert(saved.key, entry, value: saved.value, revisionLimit: 0)
      counters.keys.add(1)
      counters.totalSize.add(saved.value.count)
      if let lock {
        counters.locks.add(1)
        state.schedule(Timer(deadline: lock.expires, key: saved.key, kind: .lock))
      }
      if let lifespan = entry.lifespan {
        counters.lifespans.add(1)
        state.schedule(Timer(deadline: lifespan.expires, key: saved.key, kind: .lifespan))
      }
      return true
    }
  }

  /// Restores a key's history, trimmed to `revision_limit` (decision 12.46).
  public func restoreHistory(_ key: String, _ revisions: [Revision]) {
    guard options.revisionLimit != 0, !revisions.isEmpty else { return }
    let kept = options.revisionLimit > 0 ? Array(revisions.suffix(options.revisionLimit)) : revisions
    withShard(of: key) { $0.restoreHistory(key, kept) }
  }

  public func restoreMetric(_ key: String, _ metric: KeyMetric) {
    withShard(of: key) { $0.setMetric(key, metric) }
  }

  public func restoreClients(_ ids: [String], at date: Date) {
    clients.withLock { clients in for id in ids where clients[id] == nil { clients[id] = date } }
  }

  /// Event ids keep increasing across restarts, so SSE clients can resume sensibly.
  public func restoreEventSequence(_ sequence: UInt64) {
    bus.advanceSequence(to: sequence)
  }
}
