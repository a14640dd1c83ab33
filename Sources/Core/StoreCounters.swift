/// Server-wide gauges and counters kept exactly as keys change (`Stats`).
final class StoreCounters: Sendable {
  /// User keys only (reserved keys do not count, decision 12.37).
  let keys = AtomicCounter()
  let totalSize = AtomicCounter()
  let locks = AtomicCounter()
  let lifespans = AtomicCounter()
  let snapshotsCreated = AtomicCounter()
  let snapshotsFailed = AtomicCounter()
  let eagerPruneTriggered = AtomicCounter()
  let pruneCompleted = AtomicCounter()
}
