import Foundation
import Testing

@testable import Persistence

/// PostgreSQL that cannot be reached, or will not let keyquarry in, fails `prepare` within
/// the connect timeout with one error naming the server, instead of the pool's minute of
/// retries.
@Suite struct PostgresUnreachableTests {
  private func failure(_ url: String) async throws -> (message: String, took: Duration) {
    let started = ContinuousClock.now
    let database = try SnapshotDatabases.open(url, connectTimeout: .seconds(3))
    do {
      try await database.prepare()
      Issue.record("prepare succeeded against \(url)")
      return ("", .zero)
    } catch {
      let took = ContinuousClock.now - started
      try await database.close()
      return ("\(error)", took)
    }
  }

  @Test func aClosedPortFailsAtOnceNamingTheServer() async throws {
    let (message, took) = try await failure("postgres://kq@127.0.0.1:1/kq?sslmode=disable")
    #expect(message == "cannot reach PostgreSQL at 127.0.0.1:1: Connection refused")
    #expect(took < .seconds(10))
  }

  @Test func aServerThatRefusesTheUserFailsWithinTheTimeout() async throws {
    let server = try PostgresServer()
    let (message, took) = try await failure(server.url("nosuchdatabase"))
    #expect(message.hasPrefix("cannot reach PostgreSQL at 127.0.0.1:"), "\(message)")
    #expect(message.hasSuffix("no connection within 3.0 seconds"), "\(message)")
    // The message shows the deadline ended it. The bound is loose: in the parallel test
    // run the timer's wake-up waited up to 9 s for a thread (seen three times); the
    // pool's own retries, what the deadline replaces, take over a minute.
    #expect(took < .seconds(30))
  }
}
