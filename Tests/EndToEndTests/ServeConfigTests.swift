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
    #expect((second.stdout.isEmpty ? second.stderr : second.text + second.stderr).contains("already exists"))
    #expect(try await first.client(["set", "still", "works"]).status == 0)
    #expect(try await first.terminate() == 0)
  }
}
