import Foundation
import Metrics
import Synchronization

/// What the journal reports: its size, its syncs, its failures, what start-up replayed;
/// kept for Stats and `/readyz`, and recorded as metrics.
public final class JournalStatus: Sendable {
  public struct Figures: Sendable {
    public var bytes = 0
    public var lastSync: Date?
    public var lastSyncDuration: Duration = .zero
    public var failures = 0
    public var recordsReplayed = 0
  }

  private let figures = Mutex(Figures())

  public var current: Figures { figures.withLock { $0 } }

  func synced(took duration: Duration, bytes: Int) {
    let now = Date()
    figures.withLock {
      $0.lastSync = now
      $0.lastSyncDuration = duration
      $0.bytes = bytes
    }
    Timer(label: "keyquarry_journal_fsync_duration_seconds").record(duration: duration)
    Gauge(label: "keyquarry_journal_bytes").record(bytes)
    Gauge(label: "keyquarry_journal_last_fsync_timestamp_seconds").record(now.timeIntervalSince1970)
  }

  func failed() {
    figures.withLock { $0.failures += 1 }
    Counter(label: "keyquarry_journal_failures_total").increment()
  }

  func replayed(_ records: Int, bytes: Int) {
    figures.withLock {
      $0.recordsReplayed = records
      $0.bytes = bytes
    }
    Counter(label: "keyquarry_journal_records_replayed_total").increment(by: records)
    Gauge(label: "keyquarry_journal_bytes").record(bytes)
  }
}
