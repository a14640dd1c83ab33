import Foundation
import Synchronization

extension Store {
  /// Returns a key's value; the owner of a lock may read it, nobody else.
  public func get(_ key: String, by client: String) throws(StoreError) -> Data {
    let now = clock.now()
    return try withShard(of: key) { (state: inout ShardState) throws(StoreError) -> Data in
      let value = try state.readableValue(key, by: client)
      emit(.accessed, key, by: client, at: now, in: &state)
      return value
    }
  }

  public func inspect(
    _ key: String, includeValue: Bool = false, includeMetrics: Bool = false, by client: String
  ) throws(StoreError) -> KeyInfo {
    let now = clock.now()
    return try withShard(of: key) { (state: inout ShardState) throws(StoreError) -> KeyInfo in
      // The record is read in this one expression: holding it while the access is
      // recorded would copy it. The metrics returned do not yet include this access.
      let info = state.record(key).flatMap { record in
        record.entry.map { entry in
          KeyInfo(
            key: key, hash: entry.hash, created: entry.created, updated: entry.updated,
            version: entry.version, size: record.valueCount, locked: entry.lock != nil,
            lifespan: entry.lifespan?.duration, lifespanSet: entry.lifespan?.setAt,
            contentType: entry.contentType,
            value: includeValue && !entry.isLocked(against: client) ? record.value : nil,
            metrics: includeMetrics ? record.metric ?? KeyMetric() : nil)
        }
      }
      guard let info else { throw .notFound }
      if includeValue, info.value == nil { throw .locked }
      if includeValue { emit(.accessed, key, by: client, at: now, in: &state) }
      return info
    }
  }

  public func exists(_ key: String) -> Bool {
    withShard(of: key) { $0.entry(key) != nil }
  }

  /// Keys matching an RE2 pattern (unanchored), sorted ascending, at most `limit` (0: all).
  public func listKeys(
    pattern: String = "", limit: Int = 0, includeReserved: Bool = false
  ) throws(StoreError) -> [String] {
    let matcher = try KeyPattern(pattern)
    var keys: [String] = []
    for shard in shards {
      // The shard's keys are copied out so that matching them holds no lock.
      let names = shard.state.withLock { state in
        state.entries.compactMap { key, entry in includeReserved || !entry.isReserved ? key : nil }
      }
      keys.append(contentsOf: names.lazy.filter(matcher.matches))
    }
    keys.sort()
    if limit > 0, keys.count > limit { keys.removeLast(keys.count - limit) }
    return keys
  }

  /// Lifetime metrics of a key name; they outlive the key.
  public func keyMetric(_ key: String) throws(StoreError) -> KeyMetric {
    guard let metric = withShard(of: key, { $0.record(key)?.metric }) else {
      throw StoreError(.notFound, "key not found")
    }
    return metric
  }
}
