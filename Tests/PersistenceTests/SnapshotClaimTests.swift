import Foundation
import Testing

@testable import Persistence

/// Servers share a snapshot database; `snapshot restore` takes it alone, and only while no
/// server holds it. The same from both databases, each opened as separate processes would.
@Suite struct SnapshotClaimTests {
  private func url(_ backend: Backend) throws -> String {
    switch backend {
    case .sqlite:
      let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kq-claim-\(UUID().uuidString.prefix(8))")
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
      return "sqlite://" + directory.appendingPathComponent("kq.db").path
    case .postgres:
      guard let server = PostgresServer.shared else { throw PostgresServer.Failure("PostgreSQL did not start") }
      return server.url(try server.createDatabase())
    }
  }

  private func opened(_ url: String) async throws -> any SnapshotDatabase {
    let database = try SnapshotDatabases.open(url, connectTimeout: PostgresServer.connectTimeout)
    try await database.prepare()
    return database
  }

  @Test(arguments: Backend.allCases)
  func serversShareARestoreWaitsForThemAll(backend: Backend) async throws {
    let url = try url(backend)
    let first = try await opened(url)
    let second = try await opened(url)
    try await first.claim(.server)
    try await second.claim(.server)
    let restore = try await opened(url)
    await #expect(throws: SnapshotError.self) { try await restore.claim(.alone) }
    try await restore.close()
    try await first.close()
    let stillOne = try await opened(url)
    await #expect(throws: SnapshotError.self) { try await stillOne.claim(.alone) }
    try await stillOne.close()
    try await second.close()

    let alone = try await opened(url)
    try await alone.claim(.alone)
    let server = try await opened(url)
    await #expect(throws: SnapshotError.self, "no server starts during a restore") { try await server.claim(.server) }
    try await server.close()
    try await alone.close()
  }
}
