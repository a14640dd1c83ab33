import Core
import Foundation
import Logging
import Metrics
import Synchronization

/// Saves the store to a database and restores it: on start (newest complete snapshot
/// for `name`), every `interval` when something changed, and at shutdown. A failed
/// snapshot is logged and counted; the in-memory state is never touched by it.
public struct Snapshotter: Sendable {
  public let store: Store
  public let database: any SnapshotDatabase
  public let name: String
  public let writerVersion: String
  /// A save that takes longer (a database that is down) is abandoned and counted as failed.
  public let timeout: Duration
  /// Cut at each snapshot: the segments a saved snapshot holds are removed.
  public let journal: Journal?
  let logger: Logger

  public init(
    store: Store, database: any SnapshotDatabase, name: String, writerVersion: String, logger: Logger,
    timeout: Duration = .seconds(60), journal: Journal? = nil
  ) {
    self.journal = journal
    self.store = store
    self.database = database
    self.name = name
    self.writerVersion = writerVersion
    self.logger = logger
    self.timeout = timeout
  }

  /// Restores the newest complete snapshot for `name` (or `id`); nil when there is none.
  @discardableResult
  public func restore(id: Int64? = nil) async throws -> SnapshotInfo? {
    let snapshots = try await database.list(name: id == nil ? name : nil)
    guard var info = id.map({ id in snapshots.first { $0.id == id } }) ?? snapshots.first else {
      if let id { throw SnapshotError.notFound(id) }
      return nil
    }
    let started = ContinuousClock.now
    let journalSegment = Mutex<UInt64>(0)
    try await database.readChunks(of: info.id) { [store] chunk in
      if let segment = try SnapshotCodec.restore(chunk: chunk, into: store) { journalSegment.withLock { $0 = segment } }
    }
    info.journalSegment = journalSegment.withLock { $0 }
    Timer(label: "keyquarry_snapshot_restore_duration_seconds").record(duration: ContinuousClock.now - started)
    logger.notice(
      "restored snapshot",
      metadata: ["id": "\(info.id)", "name": "\(info.name)", "keys": "\(store.stats().keys)", "seconds": "\(ContinuousClock.now - started)"])
    return info
  }

  /// Takes a snapshot now.
  @discardableResult
  public func save() async throws -> SnapshotInfo {
    let started = ContinuousClock.now
    let snapshot = store.snapshot()
    do {
      let chunks = SnapshotChunks(snapshot, writerVersion: writerVersion)
      let info = try await withDeadline(timeout) { [database, name] in try await database.save(name: name, chunks: chunks) }
      store.countSnapshot(succeeded: true)
      journal?.removeSegments(through: snapshot.journalSegment)
      Self.record(since: started, result: "ok")
      Gauge(label: "keyquarry_snapshot_last_bytes").record(info.bytes)
      Gauge(label: "keyquarry_snapshot_last_success_timestamp_seconds").record(Date().timeIntervalSince1970)
      logger.info(
        "snapshot saved",
        metadata: ["id": "\(info.id)", "keys": "\(info.keys)", "bytes": "\(info.bytes)", "seconds": "\(ContinuousClock.now - started)"])
      return info
    } catch {
      store.countSnapshot(succeeded: false)
      Self.record(since: started, result: "failed")
      logger.error("snapshot failed", metadata: ["error": "\(error)"])
      throw error
    }
  }

  private static func record(since started: ContinuousClock.Instant, result: String) {
    Timer(label: "keyquarry_snapshot_duration_seconds", dimensions: [("result", result)])
      .record(duration: ContinuousClock.now - started)
  }

  /// Saves every `interval` while something changed; failures are retried next time.
  public func runPeriodically(every interval: Duration) async {
    while !Task.isCancelled {
      try? await Task.sleep(for: interval)
      if Task.isCancelled { return }
      guard store.takeChangedFlag() else { continue }
      do {
        try await save()
      } catch {
        store.markChanged()  // keep the change for the next attempt
      }
    }
  }
}

struct SnapshotTimedOut: Error, CustomStringConvertible {
  let timeout: Duration
  var description: String { "the snapshot database did not answer within \(timeout)" }
}

/// Runs `body`, cancelling it when `timeout` passes first.
func withDeadline<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
  try await withThrowingTaskGroup(of: T.self) { group in
    group.addTask { try await body() }
    group.addTask {
      try await Task.sleep(for: timeout)
      throw SnapshotTimedOut(timeout: timeout)
    }
    defer { group.cancelAll() }
    return try await group.next()!
  }
}
