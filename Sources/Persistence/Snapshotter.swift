import Core
import Foundation
import Logging

/// Saves the store to a database and restores it: on start (newest complete snapshot
/// for `name`), every `interval` when something changed, and at shutdown. A failed
/// snapshot is logged and counted; the in-memory state is never touched by it.
public struct Snapshotter: Sendable {
  public let store: Store
  public let database: any SnapshotDatabase
  public let name: String
  public let writerVersion: String
  let logger: Logger

  public init(store: Store, database: any SnapshotDatabase, name: String, writerVersion: String, logger: Logger) {
    self.store = store
    self.database = database
    self.name = name
    self.writerVersion = writerVersion
    self.logger = logger
  }

  /// Restores the newest complete snapshot for `name` (or `id`); nil when there is none.
  @discardableResult
  public func restore(id: Int64? = nil) async throws -> SnapshotInfo? {
    let snapshots = try await database.list(name: id == nil ? name : nil)
    guard let info = id.map({ id in snapshots.first { $0.id == id } }) ?? snapshots.first else {
      if let id { throw SnapshotError.notFound(id) }
      return nil
    }
    let started = ContinuousClock.now
    try await database.readChunks(of: info.id) { [store] chunk in
      try SnapshotCodec.restore(chunk: chunk, into: store)
    }
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
      let info = try await database.save(name: name, chunks: SnapshotChunks(snapshot, writerVersion: writerVersion))
      store.countSnapshot(succeeded: true)
      logger.info(
        "snapshot saved",
        metadata: ["id": "\(info.id)", "keys": "\(info.keys)", "bytes": "\(info.bytes)", "seconds": "\(ContinuousClock.now - started)"])
      return info
    } catch {
      store.countSnapshot(succeeded: false)
      logger.error("snapshot failed", metadata: ["error": "\(error)"])
      throw error
    }
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
