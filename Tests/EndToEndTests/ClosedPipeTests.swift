import Foundation
import Testing

/// `keyquarry client … | head -1`: a reader that leaves early ends the command quietly
/// with status 0, as `cat` does, never with a trap.
@Suite struct ClosedPipeTests {
  /// Runs `command | head -1` in bash and returns the command's exit status and head's output.
  private func pipedToHead(_ command: String, whileRunning poke: () async throws -> Void = {}) async throws
    -> (status: Int32, firstLine: String)
  {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    process.arguments = ["-c", "\(command) | head -1; exit ${PIPESTATUS[0]}"]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    let collector = OutputCollector(output)
    try process.run()
    let deadline = ContinuousClock.now + .seconds(20)
    while process.isRunning, ContinuousClock.now < deadline {
      try await poke()
      try await Task.sleep(for: .milliseconds(50))
    }
    try await waitForExit(process, timeout: .seconds(1))
    return (process.terminationStatus, collector.text)
  }

  @Test func listAndWatchEndWithStatusZeroWhenTheReaderLeaves() async throws {
    let directory = try makeTemporaryDirectory()
    let server = try ServerProcess(directory: directory)
    try await server.waitUntilListening()
    let client = "'\(keyquarryBinary)' client --address \(server.address)"
    // More than a pipe holds (64 KiB), so the list is still writing when head has left.
    let long = String(repeating: "k", count: 900)
    let lines = (0..<200).map { "\(long)\($0)=v" }.joined(separator: "\n")
    #expect(try await runKeyquarry(["client", "--address", server.address, "load"], stdin: Data(lines.utf8)).status == 0)

    let list = try await pipedToHead("\(client) list")
    #expect(list.status == 0)
    #expect(list.firstLine == "\(long)0\n")

    var round = 0
    let watch = try await pipedToHead("\(client) watch --key w") {
      round += 1
      _ = try await server.client(["set", "w", "\(round)"])
    }
    #expect(watch.status == 0)
    #expect(watch.firstLine.contains("\"key\":\"w\""))
    #expect(try await server.terminate() == 0)
  }
}
