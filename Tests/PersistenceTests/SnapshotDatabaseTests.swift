import Core
import Foundation
import Logging
import Testing

@testable import Persistence

enum Backend: String, CaseIterable, Sendable {
  case sqlite, postgres
}

/// The same behaviour from both databases: SQLite files and a real PostgreSQL server.
@Suite struct SnapshotDatabaseTests {
  let directory: URL

  init() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("kq-snap-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  /// A fresh, prepared database of `backend`, and a way to run SQL on it behind its back.
  func database(_ backend: Backend) async throws -> (any SnapshotDatabase, sabotage: (String) async throws -> Void) {
    switch backend {
    case .sqlite:
      let path = directory.appendingPathComponent("kq.db").path
      let database = try SnapshotDatabases.open("sqlite://" + path)
      try await database.prepare()
      let other = try SQLiteSnapshots(path: path)
      return (database, { try await other.execute($0) })
    case .postgres:
      guard let server = PostgresServer.shared else { throw PostgresServer.Failure("PostgreSQL did not start") }
      let name = try server.createDatabase()
      let database = try SnapshotDatabases.open(server.url(name), connectTimeout: PostgresServer.connectTimeout)
      try await database.prepare()
      return (database, { try server.sql($0, database: name) })
    }
  }

  func snapshotter(_ store: Store, _ database: any SnapshotDatabase, name: String = "server-a") -> Snapshotter {
    Snapshotter(store: store, database: database, name: name, writerVersion: "test", logger: Logger(label: "test"))
  }

  static func options() -> StoreOptions {
    var options = StoreOptions()
    options.minLockDuration = .milliseconds(10)
    options.minLifespan = .milliseconds(10)
    return options
  }

  @Test(arguments: Backend.allCases) func everyFieldRoundTrips(backend: Backend) async throws {
    let clock = ManualClock()
    let store = Store(options: Self.options(), clock: clock)
    let binary = Data((0...255).map { UInt8($0) })
    try store.set("bin", value: binary, contentType: "application/x-thing", by: "alice")
    try store.set("ключ/ünï 🔑", value: Data("v1".utf8), by: "bob")
    try store.set("ключ/ünï 🔑", value: Data("v2".utf8), lockDuration: .seconds(60), lifespan: .seconds(3600), by: "bob")
    _ = try store.get("bin", by: "carol")
    try store.register("carol")
    let sequence = store.lastEventSequence
    let (database, _) = try await database(backend)
    let info = try await snapshotter(store, database).save()
    #expect(info.keys == 2)
    #expect(store.stats().snapshotsCreated == 1)

    clock.advance(by: .seconds(10))
    let restored = Store(options: Self.options(), clock: clock)
    #expect(try await snapshotter(restored, database).restore()?.id == info.id)
    #expect(try restored.keyMetric("bin") == store.keyMetric("bin"), "compared before any read counts")

    #expect(try restored.get("bin", by: "x") == binary)
    let bin = try restored.inspect("bin", by: "x")
    #expect(bin.contentType == "application/x-thing")
    #expect(bin.hash == FNV1a.hash(binary))
    let original = try store.inspect("ключ/ünï 🔑", by: "bob")
    let copy = try restored.inspect("ключ/ünï 🔑", by: "bob")
    #expect(copy.version == 2 && copy.updated == original.updated && copy.created == original.created)
    #expect(copy.locked)
    #expect(copy.lifespan == .seconds(3600) && copy.lifespanSet == original.lifespanSet)
    #expect(throws: StoreError.self) { try restored.get("ключ/ünï 🔑", by: "someone-else") }
    #expect(try restored.get("ключ/ünï 🔑", by: "bob") == Data("v2".utf8), "the lock still belongs to bob")
    #expect(try restored.revision("ключ/ünï 🔑", version: 1, by: "bob").value == Data("v1".utf8))
    #expect(restored.lastEventSequence >= sequence)
    let stats = restored.stats()
    #expect(stats.keys == 2 && stats.totalSize == 258 && stats.currentLocks == 1 && stats.lifespans == 1)
    #expect(stats.clientIDs == 1)
    expectRegistered(restored, "carol")

    // The lock keeps counting down across the restart: 60 s from when it was taken.
    clock.advance(by: .seconds(51))
    restored.sweepExpired()
    #expect(try restored.inspect("ключ/ünï 🔑", by: "x").locked == false)
  }

  /// The longest lifespan a client can give, and a lock that ends after 2262 (a longest
  /// `max_lock_duration`): saved without trapping, restored at the same length.
  @Test(arguments: Backend.allCases) func theLongestLifespanAndLockRoundTrip(backend: Backend) async throws {
    var options = Self.options()
    options.maxLockDuration = .longest
    let store = Store(options: options)
    try store.set("k", value: Data("v".utf8), lockDuration: .longest, lifespan: .seconds(315_576_000_000), by: "a")
    let (database, _) = try await database(backend)
    try await snapshotter(store, database).save()
    let restored = Store(options: options)
    try await snapshotter(restored, database).restore()
    let info = try restored.inspect("k", by: "a")
    #expect(info.lifespan == .longest && info.locked)
  }

  func expectRegistered(_ store: Store, _ client: String) {
    #expect(throws: StoreError.self) { try store.register(client) }
  }

  @Test(arguments: Backend.allCases) func expiredLifespansAndLocksAreDroppedOnRestore(backend: Backend) async throws {
    let clock = ManualClock()
    let store = Store(options: Self.options(), clock: clock)
    try store.set("short", value: Data("v".utf8), lifespan: .seconds(5), by: "a")
    try store.set("locked", value: Data("v".utf8), lockDuration: .seconds(5), by: "a")
    let (database, _) = try await database(backend)
    try await snapshotter(store, database).save()
    clock.advance(by: .seconds(6))
    let restored = Store(options: Self.options(), clock: clock)
    try await snapshotter(restored, database).restore()
    #expect(!restored.exists("short"))
    #expect(try restored.inspect("locked", by: "b").locked == false)
    #expect(restored.stats().currentLocks == 0 && restored.stats().lifespans == 0 && restored.stats().keys == 1)
  }

  @Test(arguments: Backend.allCases) func namesAreIsolatedAndTheNewestCompleteWins(backend: Backend) async throws {
    let (database, _) = try await database(backend)
    let a = Store(options: Self.options())
    try a.set("k", value: Data("a1".utf8), by: "x")
    try await snapshotter(a, database, name: "a").save()
    try a.set("k", value: Data("a2".utf8), by: "x")
    try await snapshotter(a, database, name: "a").save()
    let b = Store(options: Self.options())
    try b.set("k", value: Data("b".utf8), by: "x")
    try await snapshotter(b, database, name: "b").save()

    let restoredA = Store(options: Self.options())
    try await snapshotter(restoredA, database, name: "a").restore()
    #expect(try restoredA.get("k", by: "x") == Data("a2".utf8))
    let restoredB = Store(options: Self.options())
    try await snapshotter(restoredB, database, name: "b").restore()
    #expect(try restoredB.get("k", by: "x") == Data("b".utf8))
    #expect(try await database.list(name: "a").count == 2)
    #expect(try await database.list(name: nil).count == 3)
    #expect(try await snapshotter(Store(), database, name: "nobody").restore() == nil)

    // An operator picks an older snapshot for the next start.
    let oldest = try await database.list(name: "a").last!
    try await database.promote(oldest.id, as: "a")
    let again = Store(options: Self.options())
    try await snapshotter(again, database, name: "a").restore()
    #expect(try again.get("k", by: "x") == Data("a1".utf8))
  }

  @Test(arguments: Backend.allCases) func manyKeysSpanSeveralChunks(backend: Backend) async throws {
    let store = Store(options: Self.options())
    let value = Data(repeating: 7, count: 1000)
    for index in 0..<10_000 { try store.set("key/\(index)", value: value, by: "x") }
    let (database, _) = try await database(backend)
    let info = try await snapshotter(store, database).save()
    #expect(info.bytes > SnapshotChunks.size, "more than one chunk")
    let restored = Store(options: Self.options())
    try await snapshotter(restored, database).restore()
    #expect(restored.stats().keys == 10_000)
    #expect(try restored.get("key/9999", by: "x") == value)
  }

  @Test(arguments: Backend.allCases) func aFailingDatabaseIsCountedAndLosesNothing(backend: Backend) async throws {
    let (database, sabotage) = try await database(backend)
    let store = Store(options: Self.options())
    try store.set("k", value: Data("v".utf8), by: "x")
    // Break the real database under the server.
    try await sabotage("DROP TABLE snapshot_chunks")
    await #expect(throws: (any Error).self) { try await snapshotter(store, database).save() }
    #expect(store.stats().snapshotsFailed == 1)
    #expect(store.stats().snapshotsCreated == 0)
    #expect(try store.get("k", by: "x") == Data("v".utf8))
    #expect(try await database.list(name: nil).isEmpty, "nothing half-written is listed")
    try await database.close()
  }

  @Test(arguments: Backend.allCases) func periodicSnapshotsOnlyWhenSomethingChanged(backend: Backend) async throws {
    let (database, _) = try await database(backend)
    let store = Store(options: Self.options())
    _ = store.takeChangedFlag()
    let task = Task { await snapshotter(store, database).runPeriodically(every: .milliseconds(50)) }
    try await Task.sleep(for: .milliseconds(200))
    #expect(try await database.list(name: nil).isEmpty, "no change, no snapshot")
    try store.set("k", value: Data("v".utf8), by: "x")
    for _ in 0..<100 where try await database.list(name: nil).isEmpty {
      try await Task.sleep(for: .milliseconds(20))
    }
    _ = try store.get("k", by: "x")  // reads are not changes
    try await Task.sleep(for: .milliseconds(200))
    task.cancel()
    #expect(try await database.list(name: nil).count == 1)
  }
}
