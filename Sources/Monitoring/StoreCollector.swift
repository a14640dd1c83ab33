import Core
import Prometheus
import Synchronization

/// The store's own figures (the Stats RPC's) as Prometheus series, brought up to date
/// when /metrics is scraped rather than on every store operation.
final class StoreCollector: Sendable {
  private let store: Store
  private let gauges: [(Gauge, @Sendable (StoreStats) -> Double)]
  private let totals: [(Counter, @Sendable (StoreStats) -> UInt64)]
  /// The totals at the previous scrape: Prometheus counters only move by increments.
  private let previous: Mutex<[UInt64]>

  init(store: Store, registry: PrometheusCollectorRegistry) {
    self.store = store
    func gauge(_ name: String, _ help: String, _ value: @escaping @Sendable (StoreStats) -> Double)
      -> (Gauge, @Sendable (StoreStats) -> Double)
    {
      (registry.makeGauge(name: "keyquarry_\(name)", help: help), value)
    }
    func total(_ name: String, _ help: String, _ value: @escaping @Sendable (StoreStats) -> Int)
      -> (Counter, @Sendable (StoreStats) -> UInt64)
    {
      (registry.makeCounter(name: "keyquarry_\(name)_total", help: help), { UInt64(value($0)) })
    }
    gauges = [
      gauge("keys", "Keys in the store.") { Double($0.keys) },
      gauge("max_keys", "The max_keys limit (0: none).") { Double($0.maxKeys) },
      gauge("total_size_bytes", "Total size of the stored values.") { Double($0.totalSize) },
      gauge("locks", "Keys currently locked.") { Double($0.currentLocks) },
      gauge("client_ids", "Registered client ids.") { Double($0.clientIDs) },
      gauge("lifespans", "Keys with a lifespan.") { Double($0.lifespans) },
      gauge("event_subscribers", "Open watch streams.") { Double($0.eventSubscribers) },
      gauge("history_keys", "Keys with revision history.") { Double($0.historyKeys) },
      gauge("history_revisions", "Revisions kept in history.") { Double($0.historyRevisions) },
      gauge("memory_used_bytes", "Bytes the allocator has handed out, against max_memory.") {
        Double($0.memoryUsed)
      },
      gauge("max_memory_bytes", "The max_memory limit (0: none).") { Double($0.maxMemory) },
      gauge("watch_buffer_bytes", "Bytes waiting for watchers, against watch_buffer_total.") {
        Double($0.watchBufferBytes)
      },
    ]
    totals =
      [
        total("snapshots_created", "Snapshots saved.") { $0.snapshotsCreated },
        total("snapshots_failed", "Snapshots that failed.") { $0.snapshotsFailed },
        total("prune_completed", "Prune runs.") { $0.pruneCompleted },
        total("eager_prune_triggered", "Prune runs started by eager_prune_at.") { $0.eagerPruneTriggered },
        total("slow_watchers_ended", "Watchers ended by the slow-consumer rules.") { $0.slowWatchersEnded },
      ]
      + KeyEvent.allCases.filter { $0 != .noEvent }.map { event in
        (
          registry.makeCounter(
            name: "keyquarry_events_total", labels: [("event", event.name)], help: "Events published, by type."),
          { $0.events[event] ?? 0 }
        )
      }
    previous = Mutex(Array(repeating: 0, count: totals.count))
  }

  func update() {
    let stats = store.stats()
    for (gauge, value) in gauges { gauge.set(value(stats)) }
    previous.withLock { previous in
      for (index, (counter, value)) in totals.enumerated() {
        let now = value(stats)
        if now > previous[index] { counter.increment(by: Int64(now - previous[index])) }
        previous[index] = now
      }
    }
  }
}
