import Core
import Foundation
import Logging
import Persistence
import Testing

@Suite(.serialized) struct CrashSafetyTests {
  /// A snapshot of 100k keys is being written again and again; `kill -9` lands at random
  /// moments. Every restart must find a complete snapshot and all the keys.
  @Test func killDashNineDuringSnapshotsLeavesARestorableSnapshot() async throws {
    let directory = try makeTemporaryDirectory()
    let database = "sqlite://" + directory.appendingPathComponent("kq.db").path
    let env = [
      "KEYQUARRY_SNAPSHOT_ENABLED": "true", "KEYQUARRY_SNAPSHOT_DATABASE": database,
      "KEYQUARRY_SNAPSHOT_INTERVAL": "50ms", "KEYQUARRY_NAME": "crash",
    ]
    let count = 100_000
    // The 100k keys are written as the server's first snapshot (loading them over the
    // wire would take a debug build minutes); the server then snapshots them over and over.
    let seed = Store()
    for index in 0..<count { try seed.set("key/\(index)", value: Data("value-\(index)".utf8), by: "seed") }
    let seedDatabase = try SnapshotDatabases.open(database)
    try await seedDatabase.prepare()
    try await Snapshotter(store: seed, database: seedDatabase, name: "crash", writerVersion: "test", logger: Logger(label: "seed")).save()
    try await seedDatabase.close()

    var server = try ServerProcess(environment: env, directory: directory)
    try await server.waitUntilListening(timeout: .seconds(120))

    var random = SystemRandomNumberGenerator()
    for round in 0..<4 {
      // Keep the snapshotter busy: every change triggers another full snapshot.
      _ = try await server.client(["set", "marker", "\(round)"])
      try await Task.sleep(for: .milliseconds(Int.random(in: 50...1500, using: &random)))
      kill(server.process.processIdentifier, SIGKILL)
      try await waitForExit(server.process, timeout: .seconds(10))

      server = try ServerProcess(environment: env, directory: directory)
      try await server.waitUntilListening(timeout: .seconds(120))
      let stats = try JSONSerialization.jsonObject(with: try await server.client(["stats"]).stdout) as? [String: Any]
      let keys = Int(stats?["keys"] as? String ?? "") ?? 0
      #expect(keys >= count, "round \(round): restored \(keys) keys")
      #expect(try await server.client(["get", "key/\(count - 1)"]).text == "value-\(count - 1)")
    }
    #expect(try await server.terminate() == 0)
  }
}
