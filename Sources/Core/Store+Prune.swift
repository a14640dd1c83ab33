import Foundation
import Metrics
import Synchronization

extension Store {
  /// Expunges the stalest unlocked user keys until at most `target` keys remain
  /// (the original's rule). Returns the number of keys removed.
  @discardableResult
  public func prune(to target: Int, ignoring ignored: Set<String> = []) -> Int {
    let count = counters.keys.value
    if count < target { return 0 }
    counters.pruneCompleted.add(1)
    let started = ContinuousClock.now
    let now = clock.now()
    var candidates: [(key: String, score: Double)] = []
    for shard in shards {
      shard.state.withLock { state in
        for record in state.table.records {
          guard let entry = record.entry, !entry.isReserved, entry.lock == nil else { continue }
          let key = record.key
          if !ignored.contains(key) { candidates.append((key, Self.freshness(record.metric, now: now))) }
        }
      }
    }
    candidates.sort { $0.score != $1.score ? $0.score < $1.score : $0.key < $1.key }

    var removed = 0
    for candidate in candidates where removed < count - target {
      let key = candidate.key
      withShard(of: key) { state in
        guard let entry = state.entry(key), entry.lock == nil else { return }
        let record = remove(key, entry, dropHistory: true, &state)
        emit(.expunged, key, by: ClientID.internalID, at: now, value: .removed(record), in: &state)
        removed += 1
      }
    }
    Metrics.Timer(label: "keyquarry_prune_duration_seconds").record(duration: ContinuousClock.now - started)
    Counter(label: "keyquarry_pruned_keys_total").increment(by: removed)
    if removed > 0 { MemoryRelease.trimSoon() }
    return removed
  }

  /// `max_memory_policy: prune`: prunes the stalest keys, as many as the share of memory
  /// over 90% of the limit; the next samples prune again while it stays over.
  func pruneForMemory() {
    let keys = counters.keys.value
    let used = memory.usedBytes
    let target = memory.limit / 10 * 9
    guard keys > 0, used > target else { return }
    let share = Double(used - target) / Double(used)
    prune(to: keys - max(1, Int((Double(keys) * share).rounded(.up))))
  }

  func requestEagerPrune(sparing key: String) {
    guard options.eagerPruneAt > 0 else { return }
    eagerPruneSignal.continuation.yield(key)
  }

  func eagerPrune(sparing key: String) {
    guard counters.keys.value >= options.eagerPruneAt else { return }
    counters.eagerPruneTriggered.add(1)
    prune(to: options.eagerPruneTo, ignoring: [key])
  }

  /// The original's staleness score: higher means more recently used.
  static func freshness(_ metric: KeyMetric?, now: Date) -> Double {
    func term(_ date: Date?) -> Double {
      guard let date, date < now else { return 0 }
      return 1 / (now.timeIntervalSince(date) / 3600)
    }
    guard let metric else { return 0 }
    return 0.5 * term(metric.lastAccessed) + 0.2 * term(metric.lastSet)
      + 0.2 * term(metric.firstSet) + 0.1 * term(metric.lastLocked)
  }
}
