import Core
import Foundation
import Logging
import Testing

@testable import Persistence

@Suite struct PostgresOutageTests {
  @Test func aDatabaseThatGoesDownIsRetriedAtTheNextInterval() async throws {
    let server = try PostgresServer()
    let name = try server.createDatabase()
    let database = try SnapshotDatabases.open(server.url(name), connectTimeout: PostgresServer.connectTimeout)
    try await database.prepare()
    let store = Store()
    let snapshotter = Snapshotter(
      store: store, database: database, name: "outage", writerVersion: "test", logger: Logger(label: "test"),
      timeout: .milliseconds(500))
    try server.stop()
    try store.set("k", value: Data("v".utf8), by: "x")
    let periodic = Task { await snapshotter.runPeriodically(every: .milliseconds(100)) }
    for _ in 0..<300 where store.stats().snapshotsFailed == 0 { try await Task.sleep(for: .milliseconds(50)) }
    #expect(store.stats().snapshotsFailed >= 1, "the failure is counted")
    #expect(try store.get("k", by: "x") == Data("v".utf8), "and the store keeps its state")
    try server.start()
    for _ in 0..<300 where store.stats().snapshotsCreated == 0 { try await Task.sleep(for: .milliseconds(50)) }
    periodic.cancel()
    #expect(store.stats().snapshotsCreated == 1, "the change is saved once the database is back")
    #expect(try await database.list(name: "outage").first?.keys == 1)
    try await database.close()
  }
}
