import Foundation
import HeapModule
import Synchronization

/// One slice of the keyspace with its own lock, so operations on different keys run in
/// parallel. Everything about a key (entry, history, metrics, timers) lives in one shard.
final class Shard: Sendable {
  let state = Mutex(ShardState())
}

struct ShardState {
  var entries: [String: Entry] = [:]
  /// Retained revisions, oldest first; may outlive the key (keep_deleted_key_history).
  var history: [String: [Revision]] = [:]
  var metrics: [String: KeyMetric] = [:]
  var timers = Heap<Timer>()
  /// Timer heap size above which stale timers are compacted away.
  var compactTimersAt = 1024

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
