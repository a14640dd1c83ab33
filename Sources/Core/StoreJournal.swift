import Foundation

/// Where the store writes down every change it applies (a write-ahead journal), so that a
/// restart rebuilds the state between snapshots. The store calls it with the changed
/// key's shard lock held, so one key's changes reach it in the order they were applied.
public protocol StoreJournal: AnyObject, Sendable {
  /// Takes one change; must not block on the disk.
  func record(_ change: JournalChange)
  /// Ends the current segment for a snapshot, called with every shard locked: everything
  /// recorded before is in the snapshot, nothing after. Returns the ended segment's number.
  func cut() -> UInt64
  /// True while changes cannot be written and writes must be refused before they apply.
  var refusesWrites: Bool { get }
  /// Whether a write is answered only once it is on disk (`durability: always`).
  var waitsForDisk: Bool { get }
  /// Calls `done` once every change recorded so far is on disk (true) or could not be
  /// written (false).
  func whenDurable(_ done: @escaping @Sendable (Bool) -> Void)
  /// What Stats and `/readyz` show of it.
  var figures: JournalFigures { get }
}

/// The journal as Stats shows it.
public struct JournalFigures: Sendable, Equatable {
  /// `everysec` or `always`.
  public var durability = ""
  /// Bytes in its segments.
  public var bytes = 0
  public var recordsReplayed = 0
  public var lastSync: Date?
  public var lastSyncDuration: Duration = .zero
  /// Writes or syncs that failed since start, and whether the last one did.
  public var failures = 0
  public var failing = false

  public init() {}
}

/// One change as the journal holds it: the key's state after it (its after-image), so
/// that replaying it needs no knowledge of the operation that made it.
public enum JournalChange: Sendable, Equatable {
  /// The key's live entry after a change of its value (`valueChanged`: the value is the
  /// new one, and the old one goes to the history) or of its lock or lifespan only
  /// (`value` is empty and unused). `sequence` is the change's event id.
  case put(SnapshotKey, valueChanged: Bool, sequence: UInt64)
  /// The key's live entry is gone; `keepHistory` when its record keeps its revisions.
  case remove(key: String, keepHistory: Bool, sequence: UInt64)
  case clearHistory(key: String)
  case register(client: String, at: Date)
  case readOnly(Bool)
  /// The newest event id when a batch was written (reads, which are not journaled,
  /// advance it too).
  case sequence(UInt64)
}

extension StoreError {
  static let journalUnavailable = StoreError(
    .unavailable, "the journal cannot be written (durability: always): writes are refused, reads go on")
  public static let notDurable = StoreError(
    .unavailable, "the change could not be written to the journal (durability: always): it may not survive a restart")
}

extension Store {
  /// Whether writes are answered only once on disk; then `whenDurable` or `durable` must
  /// follow each write before its answer.
  public var waitsForJournal: Bool { journal?.waitsForDisk ?? false }

  /// Nil without a journal (`durability: snapshot`).
  public var journalFigures: JournalFigures? { journal?.figures }

  public func whenDurable(_ done: @escaping @Sendable (Bool) -> Void) {
    guard let journal else { return done(true) }
    journal.whenDurable(done)
  }

  /// Returns once the changes made so far are on disk (`durability: always`; at once otherwise).
  public func durable() async throws(StoreError) {
    guard waitsForJournal else { return }
    let written = await withCheckedContinuation { continuation in whenDurable { continuation.resume(returning: $0) } }
    if !written { throw .notDurable }
  }
}
