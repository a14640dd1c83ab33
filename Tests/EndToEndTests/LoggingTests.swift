import Foundation
import Testing

@Suite(.serialized) struct LoggingTests {
  static func lines(_ server: ServerProcess) throws -> [[String: Any]] {
    try server.output.text.split(separator: "\n").map { line in
      guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
        throw NotJSON(line: String(line))
      }
      return object
    }
  }

  struct NotJSON: Error { let line: String }

  @Test func logJSONWritesOneObjectPerLineWithTheConfigurationRedacted() async throws {
    let directory = try makeTemporaryDirectory()
    let server = try ServerProcess(
      ["--listen", "127.0.0.1:0", "--log-json", "--pprof", "--monitor-address", "127.0.0.1:0"],
      environment: ["KEYQUARRY_SNAPSHOT_DATABASE": "postgres://kq:hunter2@localhost:5432/kq"], directory: directory)
    try await server.waitUntilListening()
    #expect(try await server.terminate() == 0)
    let lines = try Self.lines(server)
    let start = try #require(lines.first { $0["msg"] as? String == "starting server" })
    #expect(start["level"] as? String == "INFO")
    #expect(start["time"] is String)
    #expect(start["config.max_keys"] as? String == "0")
    #expect(start["config.listen_address"] as? String == "127.0.0.1:0")
    #expect(start["config.snapshot.database"] as? String == "postgres://kq:xxxxx@localhost:5432/kq")
    #expect(!server.output.text.contains("hunter2"))
    #expect(lines.contains { $0["msg"] as? String == "server stopped" })
    let pprof = lines.first { ($0["msg"] as? String)?.hasPrefix("pprof has no Swift equivalent") == true }
    #expect(pprof?["level"] as? String == "WARN", "an unsupported option does not pass silently")
    #expect(lines.contains { $0["msg"] as? String == "monitor listening" })
  }

  @Test func logEventsLogsEveryKeyEvent() async throws {
    let directory = try makeTemporaryDirectory()
    let server = try ServerProcess(
      ["--listen", "127.0.0.1:0", "--log-json", "--log-level", "NOTICE"],
      environment: ["KEYQUARRY_LOG_EVENTS": "true"], directory: directory)
    try await server.waitUntilListening()
    _ = try await server.client(["set", "foo", "bar"], clientID: "scripted")
    _ = try await server.client(["get", "foo"], clientID: "scripted")
    _ = try await server.client(["lock", "foo", "10s"], clientID: "scripted")
    _ = try await server.client(["unlock", "foo"], clientID: "scripted")
    _ = try await server.client(["delete", "foo"], clientID: "scripted")
    #expect(try await server.terminate() == 0)
    let events = try Self.lines(server).filter { $0["level"] as? String == "EVENT" && $0["key"] as? String == "foo" }
    #expect(events.map { $0["msg"] as? String } == [
      "created new key", "accessed key", "locked key", "unlocked key", "deleted key",
    ])
    #expect(events.allSatisfy { $0["client_id"] as? String == "scripted" && $0["event_time"] is String })
    let eventLines = server.output.text.split(separator: "\n").filter { $0.contains("\"level\":\"EVENT\"") }
    #expect(eventLines.allSatisfy { $0.components(separatedBy: "\"time\":").count == 2 }, "one time key a line")
    #expect(!server.output.text.contains("starting server"), "log_level NOTICE hides INFO, not events")
  }
}
