import Foundation
import Testing

@Suite(.serialized) struct ServeConfigTests {
  /// File < environment < flag, checked by where the real server listens.
  @Test func flagBeatsEnvironmentBeatsFile() async throws {
    let directory = try makeTemporaryDirectory()
    let file = directory.appendingPathComponent("kq.yaml")
    let socket = { (name: String) in "unix://" + directory.appendingPathComponent(name).path }
    try "listen_address: \(socket("file.sock"))\nmax_keys: 1\n".write(to: file, atomically: true, encoding: .utf8)

    var server = try ServerProcess(["--config", file.path], directory: directory)
    try await server.waitUntilListening()
    #expect(server.address == socket("file.sock"))
    #expect(try await server.client(["set", "a", "1"]).status == 0)
    let full = try await server.client(["set", "b", "1"])
    #expect(full.status == 1 && full.stderr.contains("ResourceExhausted"), "max_keys from the file applies")
    #expect(try await server.terminate() == 0)

    let env = ["KEYQUARRY_LISTEN_ADDRESS": socket("env.sock")]
    server = try ServerProcess(["--config", file.path], environment: env, directory: directory)
    try await server.waitUntilListening()
    #expect(server.address == socket("env.sock"))
    #expect(try await server.terminate() == 0)

    server = try ServerProcess(
      ["--config", file.path, "--listen", socket("flag.sock")], environment: env, directory: directory)
    try await server.waitUntilListening()
    #expect(server.address == socket("flag.sock"))
    #expect(try await server.terminate() == 0)
  }

  @Test(arguments: [
    ("max_kyes: 3\n", [String: String](), "unknown option 'max_kyes'"),
    ("max_keys: -3\n", [:], "invalid value '-3' for max_keys"),
    ("", ["KEYQUARRY_SNAPSHOT_INTERVAL": "soon"], "KEYQUARRY_SNAPSHOT_INTERVAL"),
    ("snapshot:\n  interval: soon\n", [:], "snapshot.interval"),
    ("revision_limit: -5\n", [:], "revision_limit"),
  ])
  func badConfigurationStopsStartUpWithStatus2(yaml: String, env: [String: String], message: String) async throws {
    let directory = try makeTemporaryDirectory()
    let file = directory.appendingPathComponent("kq.yaml")
    try yaml.write(to: file, atomically: true, encoding: .utf8)
    let result = try await runKeyquarry(
      ["serve", "--config", file.path, "--listen", "127.0.0.1:0"],
      environment: env.merging(["HOME": directory.path]) { $1 }, directory: directory)
    #expect(result.status == 2)
    #expect(result.stderr.contains(message), "\(result.stderr)")
    #expect(result.stderr.split(separator: "\n").count == 1, "one line: \(result.stderr)")
  }

  @Test func unreadableConfigFileStopsStartUp() async throws {
    let directory = try makeTemporaryDirectory()
    let result = try await runKeyquarry(
      ["serve", "--config", directory.appendingPathComponent("absent.yaml").path],
      environment: ["HOME": directory.path], directory: directory)
    #expect(result.status == 2)
    #expect(result.stderr.contains("cannot read config file"))
  }

  @Test func aLiveUnixSocketIsNotTakenOver() async throws {
    let directory = try makeTemporaryDirectory()
    let socket = "unix://" + directory.appendingPathComponent("kq.sock").path
    let first = try ServerProcess(["--listen", socket], directory: directory)
    try await first.waitUntilListening()
    let second = try await runKeyquarry(["serve", "--listen", socket], environment: ["HOME": directory.path], directory: directory)
    #expect(second.status != 0)
    #expect((second.text + second.stderr).contains("another server is listening on it"))
    #expect(try await first.client(["set", "still", "works"]).status == 0)
    #expect(try await first.terminate() == 0)
  }

  @Test func aFailedBindIsNeverLoggedAsListening() async throws {
    let directory = try makeTemporaryDirectory()
    let first = try ServerProcess(directory: directory)
    try await first.waitUntilListening()
    let second = try await runKeyquarry(
      ["serve", "--listen", first.address, "--http-address", "127.0.0.1:0"],
      environment: ["HOME": directory.path], directory: directory)
    #expect(second.status == 1)
    #expect(second.stderr.contains("keyquarry:"), "\(second.stderr)")
    #expect(!second.text.contains("grpc listening"), "\(second.text)")
    #expect(try await first.terminate() == 0)
  }

  @Test func unreachablePostgreSQLStopsStartUpWithinTheTimeoutInOneLine() async throws {
    let directory = try makeTemporaryDirectory()
    let started = ContinuousClock.now
    let result = try await runKeyquarry(
      ["serve", "--listen", "127.0.0.1:0", "--http-address", "127.0.0.1:0"],
      environment: [
        "HOME": directory.path, "KEYQUARRY_SNAPSHOT_ENABLED": "true",
        "KEYQUARRY_SNAPSHOT_DATABASE": "postgres://kq@127.0.0.1:1/kq",
      ], directory: directory)
    #expect(ContinuousClock.now - started < .seconds(10))
    #expect(result.status == 1)
    #expect(result.stderr == "keyquarry: cannot reach PostgreSQL at 127.0.0.1:1: Connection refused\n")
    #expect(!(result.text + result.stderr).contains("run() hasn't been called"))
    #expect(!result.text.contains("listening"))
  }

  /// A typo in a socket path must not wipe what is there.
  @Test func aDirectoryOrFileAtTheSocketPathSurvivesARefusedStart() async throws {
    let directory = try makeTemporaryDirectory()
    let folder = directory.appendingPathComponent("data")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    try "keep".write(to: folder.appendingPathComponent("inside.txt"), atomically: true, encoding: .utf8)
    let file = directory.appendingPathComponent("notes.txt")
    try "keep".write(to: file, atomically: true, encoding: .utf8)
    for (path, what) in [(folder.path, "a directory is there"), (file.path, "a file that is not a socket is there")] {
      let result = try await runKeyquarry(
        ["serve", "--listen", "unix://" + path, "--http-address", "127.0.0.1:0"],
        environment: ["HOME": directory.path], directory: directory)
      #expect(result.status != 0)
      #expect((result.text + result.stderr).contains("cannot listen on unix socket '\(path)': \(what)"), "\(result.stderr)")
    }
    #expect(try String(contentsOf: folder.appendingPathComponent("inside.txt"), encoding: .utf8) == "keep")
    #expect(try String(contentsOf: file, encoding: .utf8) == "keep")
  }
}
