import Foundation
import Testing

@Suite(.serialized) struct CLITests {
  @Test func theSeedExampleReproduces() async throws {
    let directory = try makeTemporaryDirectory()
    let server = try ServerProcess(directory: directory)
    try await server.waitUntilListening()

    var result = try await server.client(["set", "foo", "bar"])
    #expect(result.status == 0)
    #expect(result.text == "{\"success\":true,\"isNew\":true}\n")
    #expect(try await server.client(["get", "foo"]).stdout == Data("bar".utf8))
    #expect(try await server.client(["set", "foo", "baz"]).text == "{\"success\":true}\n")
    #expect(try await server.client(["get", "foo"]).stdout == Data("baz".utf8))

    result = try await server.client(["--indent=2", "info", "foo"])
    #expect(result.text.contains("\n  \"key\": \"foo\""))
    let info = try JSONSerialization.jsonObject(with: result.stdout) as! [String: Any]
    #expect(info["hash"] as? String == "16092559880829058")
    #expect(info["version"] as? String == "2")
    #expect(info["size"] as? String == "3")
    #expect(info["contentType"] as? String == "text/plain; charset=utf-8")
    #expect(info["locked"] as? Bool == false)
    #expect(info["created"] is String)

    #expect(try await server.client(["lock", "foo", "30s"]).text == "{\"success\":true}\n")
    result = try await runKeyquarry(["client", "--address", server.address, "--client-id=bar", "set", "foo", "baz"])
    #expect(result.status == 1)
    #expect(result.stdout.isEmpty)
    #expect(result.stderr.contains("rpc error: code = PermissionDenied desc = key is locked"))
    #expect(try await server.client(["unlock", "foo"]).text == "{\"success\":true}\n")
    #expect(try await server.client(["delete", "foo"]).text == "{\"deleted\":true}\n")

    result = try await server.client(["get", "foo"])
    #expect(result.status == 1)
    #expect(result.stderr.contains("code = NotFound"))
    #expect(try await server.terminate() == 0)
  }

  @Test func binaryValuesThroughStdinAndStdoutOverAUnixSocket() async throws {
    let directory = try makeTemporaryDirectory()
    let socket = directory.appendingPathComponent("kq.sock").path
    let server = try ServerProcess(["--listen", "unix://\(socket)"], directory: directory)
    try await server.waitUntilListening()
    #expect(server.address == "unix://\(socket)")

    var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    png.append(contentsOf: (0..<2048).map { UInt8(truncatingIfNeeded: $0 * 7) })
    #expect(try await server.client(["set", "img"], stdin: png).status == 0)
    #expect(try await server.client(["get", "img"]).stdout == png)
    let info = try await server.client(["inspect", "img"])
    #expect(info.text.contains("\"contentType\":\"image/png\""))
    #expect(try await server.client(["list"]).text == "img\n")
    #expect(try await server.client(["pop", "img"]).stdout == png)
    #expect(try await server.terminate() == 0)
    #expect(!FileManager.default.fileExists(atPath: socket))
  }

  @Test func sigtermDuringAnOpenWatchExitsCleanly() async throws {
    let directory = try makeTemporaryDirectory()
    let server = try ServerProcess(directory: directory)
    try await server.waitUntilListening()
    let address = server.address
    async let watch = runKeyquarry(["client", "--address", address, "--client-id", "watcher", "watch"])
    // Wait until the watcher is subscribed.
    for _ in 0..<200 {
      let stats = try await server.client(["stats"])
      if stats.text.contains("\"eventSubscribers\":\"1\"") { break }
      try await Task.sleep(for: .milliseconds(25))
    }
    _ = try await server.client(["set", "seen", "1"])
    let started = ContinuousClock.now
    #expect(try await server.terminate() == 0)
    #expect(ContinuousClock.now - started < .seconds(10))
    let watched = try await watch
    #expect(watched.status == 0)
    #expect(watched.text.contains("\"key\":\"seen\""))
  }

  @Test func adminShutdownStopsTheServer() async throws {
    let directory = try makeTemporaryDirectory()
    let server = try ServerProcess(environment: ["KEYQUARRY_PRIVILEGED_CLIENT_ID": "root"], directory: directory)
    try await server.waitUntilListening()
    #expect(try await server.client(["shutdown"]).status == 1)
    let result = try await server.client(["shutdown"], clientID: "root")
    #expect(result.status == 0)
    #expect(result.text == "{}\n")
    try await waitForExit(server.process, timeout: .seconds(15))
    #expect(server.process.terminationStatus == 0)
  }
}
