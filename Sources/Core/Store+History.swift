import Foundation
import Synchronization

extension Store {
  /// The value of a key at `version` (> 0), or `version` revisions before the latest (< 0).
  public func revision(_ key: String, version: Int64, by client: String) throws(StoreError) -> Revision {
    if options.revisionLimit == 0 { throw .noVersioning }
    if version == 0 { throw .revisionZero }
    return try withShard(of: key) { (state: inout ShardState) throws(StoreError) -> Revision in
      guard let record = state.record(key) else { throw .revisionNotFound }
      if let entry = record.entry, entry.isLocked(against: client) { throw .locked }
      guard let latest = record.latestVersion else { throw .revisionNotFound }
      let target = version > 0 ? Int64(clamping: version) : Int64(latest) + version
      guard target > 0, let revision = record.revision(version: UInt64(target)) else {
        throw .revisionNotFound
      }
      return revision
    }
  }

  /// Empties every key's history (dropping those of deleted keys). Returns the number of
  /// histories visited and the number of revisions removed.
  public func clearHistory() throws(StoreError) -> (keys: Int, cleared: Int) {
    try requireWritable()
    if options.revisionLimit == 0 { throw .noVersioning }
    var keys = 0
    var cleared = 0
    for shard in shards {
      let (shardKeys, shardCleared) = shard.state.withLock { state in
        let result = state.clearHistories()
        for key in result.keys where !ClientID.isReserved(key: key) { journal?.record(.clearHistory(key: key)) }
        return result
      }
      keys += shardKeys.count
      cleared += shardCleared
    }
    if cleared > 0 { MemoryRelease.trimSoon() }
    return (keys, cleared)
  }
}
