import Core
import Foundation
import Logging
import Testing

@testable import Persistence

@Suite struct SQLiteSnapshotTests {
  let directory: URL

  init() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("kq-snap-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  func database(_ file: String = "kq.db") async throws -> any SnapshotDatabase {
    let database = try SnapshotDatabases.open("sqlite://" + directory.appendingPathComponent(file).path)
    try await database.prepare()
    return database
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

  @Test func everyFieldRoundTrips() async throws {
    let clock = ManualClock()
    let store = Store(options: Self.options(), clock: clock)
    let binary = Data((0...255).map { UInt8($0) })
    try store.set("bin", value: binary, contentType: "application/x-thing", by: "alice")
    try store.set("ключ/ünï 🔑", value: Data("v1".utf8), by: "bob")
    try store.set("ключ/ünï 🔑", value: Data("v2".utf8), lockDuration: .seconds(60), lifespan: .seconds(3600), by: "bob")
    _ = try store.get("bin", by: "carol")
    try store.register("carol")
    let sequence = store.lastEventSequence
    let database = try await database()
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

  func expectRegistered(_ store: Store, _ client: String) {
    #expect(throws: StoreError.self) { try store.register(client) }
  }

  @Test func expiredLifespansAndLocksAreDroppedOnRestore() async throws {
    let clock = ManualClock()
    let store = Store(options: Self.options(), clock: clock)
    try store.set("short", value: Data("v".utf8), lifespan: .seconds(5), by: "a")
    try store.set("locked", value: Data("v".utf8), lockDuration: .seconds(5), by: "a")
    let database = try await database()
    try await snapshotter(store, database).save()
    clock.advance(by: .seconds(6))
    let restored = Store(options: Self.options(), clock: clock)
    try await snapshotter(restored, database).restore()
    #expect(!restored.exists("short"))
    #expect(try restored.inspect("locked", by: "b").locked == false)
    #expect(restored.stats().currentLocks == 0 && restored.stats().lifespans == 0 && restored.stats().keys == 1)
  }

  @Test func namesAreIsolatedAndTheNewestCompleteWins() async throws {
    let database = try await database()
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

  @Test func manyKeysSpanSeveralChunks() async throws {
    let store = Store(options: Self.options())
    let value = Data(repeating: 7, count: 1000)
    for index in 0..<10_000 { try store.set("key/\(index)", value: value, by: "x") }
    let database = try await database()
    let info = try await snapshotter(store, database).save()
    #expect(info.bytes > SnapshotChunks.size, "more than one chunk")
    let restored = Store(options: Self.options())
    try await snapshotter(restored, database).restore()
    #expect(restored.stats().keys == 10_000)
    #expect(try restored.get("key/9999", by: "x") == value)
  }

  @Test func aFailingDatabaseIsCountedAndLosesNothing() async throws {
    let path = directory.appendingPathComponent("kq.db").path
    let database = try await database()
    let store = Store(options: Self.options())
    try store.set("k", value: Data("v".utf8), by: "x")
    // Break the real database under the server.
    let sabotage = try SQLiteSnapshots(path: path)
    try await sabotage.execute("DROP TABLE snapshot_chunks")
    await #expect(throws: (any Error).self) { try await snapshotter(store, database).save() }
    #expect(store.snapshotsFailed == 1)
    #expect(store.stats().snapshotsCreated == 0)
    #expect(try store.get("k", by: "x") == Data("v".utf8))
    #expect(try await database.list(name: nil).isEmpty, "nothing half-written is listed")
  }

  @Test func periodicSnapshotsOnlyWhenSomethingChanged() async throws {
    let database = try await database()
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
