import Foundation
import Testing

@Suite(.serialized) struct SnapshotTests {
  @Test func aRestartGivesBackTheStoreAndStartFreshDoesNot() async throws {
    let directory = try makeTemporaryDirectory()
    let database = "sqlite://" + directory.appendingPathComponent("kq.db").path
    let env = [
      "KEYQUARRY_SNAPSHOT_ENABLED": "true", "KEYQUARRY_SNAPSHOT_DATABASE": database, "KEYQUARRY_NAME": "e2e",
      "KEYQUARRY_PRIVILEGED_CLIENT_ID": "root",
    ]
    var server = try ServerProcess(environment: env, directory: directory)
    try await server.waitUntilListening()
    let now = try await server.client(["snapshot"], clientID: "root")
    #expect(now.status == 0 && now.text.hasPrefix("{\"id\":\"1\""), "snapshot 1, of an empty store: \(now.text)")
    #expect(!now.text.contains("keys"), "no keys yet")
    let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 1, 2, 255])
    #expect(try await server.client(["set", "img"], stdin: png).status == 0)
    #expect(try await server.client(["set", "ключ", "v", "--lock", "1m", "--lifespan", "1h"], clientID: "owner").status == 0)
    #expect(try await server.terminate() == 0)

    let list = try await runKeyquarry(["snapshot", "list", "--database", database], environment: ["HOME": directory.path])
    #expect(list.status == 0)
    let snapshots = list.text.split(separator: "\n")
    #expect(snapshots.count == 2, "the one taken on request and the one at shutdown")
    #expect(snapshots.first?.contains("\"keys\":2") == true && snapshots.first?.contains("\"name\":\"e2e\"") == true)

    server = try ServerProcess(environment: env, directory: directory)
    try await server.waitUntilListening()
    #expect(try await server.client(["get", "img"]).stdout == png)
    #expect(try await server.client(["get", "ключ"], clientID: "intruder").stderr.contains("PermissionDenied"))
    #expect(try await server.client(["get", "ключ"], clientID: "owner").text == "v")
    _ = try await server.client(["delete", "img"])
    #expect(try await server.terminate() == 0)

    server = try ServerProcess(["--listen", "127.0.0.1:0", "--fresh"], environment: env, directory: directory)
    try await server.waitUntilListening()
    #expect(try await server.client(["list"]).text.isEmpty, "start_fresh restores nothing")
    #expect(try await server.terminate() == 0)

    // The operator goes back to the shutdown snapshot of the first run (img still there).
    let restore = try await runKeyquarry(
      ["snapshot", "restore", "--database", database, "--id", "2", "--name", "e2e"], environment: ["HOME": directory.path])
    #expect(restore.status == 0, "\(restore.stderr)")
    server = try ServerProcess(environment: env, directory: directory)
    try await server.waitUntilListening()
    #expect(try await server.client(["get", "img"]).stdout == png)
    #expect(try await server.terminate() == 0)
  }

  /// A restore while a server runs on the same snapshot database would be undone by that
  /// server's shutdown snapshot: it is refused until the server stops. Servers of other
  /// names may share the database.
  @Test func restoreIsRefusedWhileAServerUsesTheDatabase() async throws {
    let directory = try makeTemporaryDirectory()
    let database = "sqlite://" + directory.appendingPathComponent("kq.db").path
    let env = { (name: String) in
      ["KEYQUARRY_SNAPSHOT_ENABLED": "true", "KEYQUARRY_SNAPSHOT_DATABASE": database, "KEYQUARRY_NAME": name]
    }
    var server = try ServerProcess(environment: env("e2e"), directory: directory)
    try await server.waitUntilListening()
    #expect(try await server.terminate() == 0)  // snapshot 1, at shutdown

    server = try ServerProcess(environment: env("e2e"), directory: directory)
    try await server.waitUntilListening()
    let neighbour = try ServerProcess(environment: env("neighbour"), directory: directory)
    try await neighbour.waitUntilListening()
    let restore = ["snapshot", "restore", "--database", database, "--id", "1", "--name", "e2e"]
    let refused = try await runKeyquarry(restore, environment: ["HOME": directory.path])
    #expect(refused.status == 1)
    #expect(refused.stderr.contains("a running server uses the snapshot database"), "\(refused.stderr)")
    #expect(try await server.terminate() == 0)
    #expect(try await neighbour.terminate() == 0)

    let done = try await runKeyquarry(restore, environment: ["HOME": directory.path])
    #expect(done.status == 0, "\(done.stderr)")
  }
}
