import Foundation
import Testing

/// Every `keyquarry client` command against a real server, over TCP and a unix socket.
@Suite(.serialized) struct ClientCommandTests {
  static func json(_ result: CommandResult) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any] ?? [:]
  }

  @Test(arguments: ["tcp", "unix"])
  func everyCommand(transport: String) async throws {
    let directory = try makeTemporaryDirectory()
    let listen = transport == "tcp" ? "127.0.0.1:0" : "unix://" + directory.appendingPathComponent("kq.sock").path
    let server = try ServerProcess(
      ["--listen", listen], environment: ["KEYQUARRY_PRIVILEGED_CLIENT_ID": "root", "KEYQUARRY_MIN_LOCK_DURATION": "1s"],
      directory: directory)
    try await server.waitUntilListening()

    #expect(try await server.client(["set", "a", "1"]).text == "{\"success\":true,\"isNew\":true}\n")
    _ = try await server.client(["set", "a", "2"])
    #expect(try await server.client(["get", "a"]).text == "2")
    #expect(try await server.client(["get", "a", "--revision", "1"]).text == "1")
    #expect(try await server.client(["get", "a", "--revision=-1"]).text == "1")
    #expect(try await server.client(["get", "a", "--revision", "-1"]).text == "1", "as the help's example")
    #expect(try Self.json(try await server.client(["info", "a"]))["version"] as? String == "2")
    let withValue = try Self.json(try await server.client(["inspect", "a", "--with-value", "--with-metrics"]))
    #expect(withValue["value"] as? String == Data("2".utf8).base64EncodedString())
    #expect((withValue["metrics"] as? [String: Any])?["setCount"] as? String == "2")
    let present = try await server.client(["exists", "a"])
    #expect(present.text == "true\n" && present.status == 0)
    let missing = try await server.client(["exists", "zzz"])
    #expect(missing.text == "false\n" && missing.status == 1)

    let load = try await server.client(["load", "b=x", "c=y=z", "d"])
    #expect(load.status == 0)
    let lines = load.text.split(separator: "\n").sorted()
    #expect(
      lines == [
        #"{"key":"b","success":true,"isNew":true}"#, #"{"key":"c","success":true,"isNew":true}"#,
        #"{"key":"d","success":true,"isNew":true}"#,
      ])
    #expect(load.stderr.contains("loaded 3 of 3 keys, 0 failed"))
    #expect(try await server.client(["get", "c"]).text == "y=z")
    #expect(try await server.client(["list"]).text == "a\nb\nc\nd\n")
    #expect(try await server.client(["list", "--pattern", "^[bc]$", "--limit", "1"]).text == "b\n")
    #expect(try await server.client(["list", "--include-reserved"]).text.contains("keyquarry/Started"))

    #expect(try await server.client(["lock", "d", "10s"]).text == "{\"success\":true}\n")
    #expect(try await server.client(["lock", "new", "10s", "--create-if-missing"]).status == 0)
    #expect(try await server.client(["unlock", "new"]).text == "{\"success\":true}\n")
    #expect(try await server.client(["key-metric", "a"]).text.contains("\"setCount\":\"2\""))
    #expect(try await server.client(["pop", "b"]).text == "x")
    #expect(try await server.client(["delete", "c"]).text == "{\"deleted\":true}\n")

    let stats = try Self.json(try await server.client(["stats"]))
    #expect(stats["keys"] as? String == "3")
    #expect(stats["currentLocks"] as? String == "1")
    #expect(try await server.client(["clear-history"]).text.contains("\"cleared\""))
    #expect(try await server.client(["clear"]).text == "{\"success\":true,\"keysDeleted\":\"2\"}\n")
    #expect(try await server.client(["clear", "--force"]).text == "{\"success\":true,\"keysDeleted\":\"1\"}\n")

    let register = try await server.client(["register"], clientID: "newbie")
    #expect(register.text == "{\"success\":true,\"clientId\":\"newbie\"}\n")
    #expect(try await server.client(["readonly", "on"], clientID: "root").text == "{\"success\":true}\n")
    #expect(try await server.client(["set", "x", "1"]).stderr.contains("FailedPrecondition"))
    #expect(try await server.client(["readonly", "OFF"], clientID: "root").text == "{\"success\":true}\n")
    _ = try await server.client(["set", "x", "1"])
    #expect(try await server.client(["prune", "0"], clientID: "root").text == "{\"pruned\":\"1\"}\n")
    #expect(try await server.client(["shutdown"], clientID: "root").text == "{}\n")
    try await waitForExit(server.process, timeout: .seconds(15))
    #expect(server.process.terminationStatus == 0)
  }

  @Test func watchCommandsPrintOneJSONObjectPerLine() async throws {
    let directory = try makeTemporaryDirectory()
    let server = try ServerProcess(directory: directory)
    try await server.waitUntilListening()
    _ = try await server.client(["set", "k", "v1"])
    let address = server.address
    async let watchKey = runKeyquarry(["client", "--address", address, "--client-id", "w1", "watch-key", "k"])
    async let watchAll = runKeyquarry(
      ["client", "--address", address, "--client-id", "w2", "watch", "--key", "k", "--event", "updated"])
    for _ in 0..<200 {
      if try await server.client(["stats"]).text.contains("\"eventSubscribers\":\"2\"") { break }
      try await Task.sleep(for: .milliseconds(25))
    }
    _ = try await server.client(["set", "k", "v2"])
    _ = try await server.client(["delete", "k"])
    let keyLines = try await watchKey.text.split(separator: "\n").map {
      try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
    }
    #expect(keyLines.map { $0["keyEvent"] as? String } == [nil, "UPDATED", "DELETED"], "watch-key exits after DELETED")
    #expect(keyLines.map { $0["value"] as? String } == ["djE=", "djI=", "djI="])
    #expect(try await server.terminate() == 0)
    let all = try await watchAll
    #expect(all.status == 0)
    let events = all.text.split(separator: "\n")
    #expect(events.count == 1)
    #expect(events.first?.contains("\"event\":\"UPDATED\"") == true)
  }

  @Test func errorsGoToStderrWithStatus1AndNothingOnStdout() async throws {
    let directory = try makeTemporaryDirectory()
    let server = try ServerProcess(directory: directory)
    try await server.waitUntilListening()
    _ = try await server.client(["set", "locked", "v", "--lock", "30s"], clientID: "owner")
    let cases: [([String], String)] = [
      (["get", "missing"], "code = NotFound desc = key not found"),
      (["set", "locked", "x"], "code = PermissionDenied desc = key is locked"),
      (["list", "--pattern", "("], "code = InvalidArgument"),
      (["set", "keyquarry/x", "v"], "code = InvalidArgument"),
      (["lock", "locked", "soon"], "invalid duration 'soon'"),
      (["readonly", "maybe"], "invalid choice (must be: on or off)"),
      (["prune", "0"], "code = PermissionDenied"),
      (["get"], "Missing expected argument"),
      (["load"], "no values provided"),
    ]
    for (arguments, message) in cases {
      let result = try await server.client(arguments, stdin: Data())
      #expect(result.status == 1, "\(arguments)")
      #expect(result.stdout.isEmpty, "\(arguments): \(result.text)")
      #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
    }
    let unreachable = try await runKeyquarry(["client", "--address", "127.0.0.1:1", "--timeout", "2s", "get", "k"])
    #expect(unreachable.status == 1)
    #expect(unreachable.stderr.contains("code = Unavailable") || unreachable.stderr.contains("DeadlineExceeded"))
    let noSocket = try await runKeyquarry(["client", "--address", "unix:///nonexistent.sock", "get", "k"])
    #expect(noSocket.status == 1)
    #expect(noSocket.stderr.contains("socket file '/nonexistent.sock' not found"))
    #expect(try await server.terminate() == 0)
  }

  @Test func versionHelpAndCompletion() async throws {
    #expect(try await runKeyquarry(["version"]).text == "keyquarry version: 0.1.0\n")
    #expect(try await runKeyquarry(["version", "--all"]).text.contains("git commit: unknown"))
    let help = try await runKeyquarry(["client", "set", "--help"])
    #expect(help.status == 0)
    #expect(help.text.contains("keyquarry client set foo bar"))
    let bash = try await runKeyquarry(["completion", "bash"])
    #expect(bash.status == 0 && bash.text.contains("_keyquarry"))
    #expect(try await runKeyquarry(["--generate-completion-script", "zsh"]).text.contains("#compdef keyquarry"))
  }

  /// `set k` typed at a terminal with no value refuses instead of waiting on a silent
  /// prompt (`script` gives the command a terminal for stdin).
  @Test func setWithNoValueOnATerminalRefusesWithAHint() async throws {
    let directory = try makeTemporaryDirectory()
    let server = try ServerProcess(directory: directory)
    try await server.waitUntilListening()
    let typed = try await runProcess(
      "/usr/bin/script", ["-qec", "'\(keyquarryBinary)' client --address \(server.address) set k", "/dev/null"])
    #expect(typed.status == 1)
    #expect(typed.text.contains("no value: give it after the key, or pipe it in"), "\(typed.text)")
    #expect(try await server.client(["exists", "k"]).text == "false\n", "nothing was stored")
    #expect(try await server.terminate() == 0)
  }
}
