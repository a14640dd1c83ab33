import Foundation
import Synchronization

extension Store {
  public func delete(_ key: String, by client: String) throws(StoreError) {
    if ClientID.isReserved(key: key) { throw .reservedKey }
    try requireWritable()
    let now = clock.now()
    try withShard(of: key) { (state: inout ShardState) throws(StoreError) in
      guard let entry = state.entry(key) else { throw .notFound }
      if entry.isLocked(against: client) { throw .locked }
      let removed = remove(key, entry, dropHistory: !options.keepDeletedKeyHistory, &state)
      emit(.deleted, key, by: client, at: now, value: .removed(removed), in: &state)
    }
  }

  /// Returns a key's value and deletes the key.
  public func pop(_ key: String, by client: String) throws(StoreError) -> Data {
    if ClientID.isReserved(key: key) { throw .reservedKey }
    try requireWritable()
    let now = clock.now()
    return try withShard(of: key) { (state: inout ShardState) throws(StoreError) -> Data in
      guard let entry = state.entry(key) else { throw .notFound }
      if entry.isLocked(against: client) { throw .locked }
      let removed = remove(key, entry, dropHistory: !options.keepDeletedKeyHistory, &state)
      emit(.deleted, key, by: client, at: now, value: .removed(removed), in: &state)
      emit(.accessed, key, by: client, at: now, in: &state)
      return removed?.value ?? Data()
    }
  }

  /// Deletes every user key that is unlocked (with `force`, locked ones too); returns the count.
  public func clear(force: Bool, by client: String) throws(StoreError) -> Int {
    try requireWritable()
    let now = clock.now()
    var deleted = 0
    for shard in shards {
      shard.state.withLock { state in
        let doomed = state.entries.filter { !$0.entry.isReserved && (force || $0.entry.lock == nil) }
        for (key, entry) in doomed {
          let removed = remove(key, entry, dropHistory: true, &state)
          emit(.deleted, key, by: client, at: now, value: .removed(removed), in: &state)
        }
        deleted += doomed.count
      }
    }
    if deleted > 0 { MemoryRelease.trimSoon() }
    return deleted
  }

  /// Takes a key out of its shard and out of every counter; returns the record that held
  /// it. Its timers go stale.
  @discardableResult
  func remove(_ key: String, _ entry: Entry, dropHistory: Bool, _ state: inout ShardState) -> KeyRecord? {
    let removed = state.removeEntry(key, keepHistory: !dropHistory)
    if !entry.isReserved {
      counters.keys.add(-1)
      counters.totalSize.add(-(removed?.valueCount ?? 0))
    }
    if entry.lock != nil { counters.locks.add(-1) }
    if entry.lifespan != nil { counters.lifespans.add(-1) }
    return removed
  }
}
