import Core
import Foundation
import Metrics
import Synchronization

/// What the journal reports: its size, its syncs, its failures, what start-up replayed;
/// kept for Stats and `/readyz`, and recorded as metrics.
final class JournalStatus: Sendable {
  private let figures: Mutex<JournalFigures>

  init(durability: String) {
    var figures = JournalFigures()
    figures.durability = durability
    self.figures = Mutex(figures)
  }

  var current: JournalFigures { figures.withLock { $0 } }

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
