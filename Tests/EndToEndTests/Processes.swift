import Foundation
import Synchronization
import Testing

/// The `keyquarry` binary that `swift build` produced (override with KEYQUARRY_BINARY).
let keyquarryBinary: String = {
  if let path = ProcessInfo.processInfo.environment["KEYQUARRY_BINARY"] { return path }
  let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
  return root.appendingPathComponent(".build/debug/keyquarry").path
}()

/// A fresh temporary directory, also used as HOME and working directory so no user
/// configuration leaks into a test.
func makeTemporaryDirectory() throws -> URL {
  let url = FileManager.default.temporaryDirectory.appendingPathComponent("kq-e2e-\(UUID().uuidString.prefix(8))")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  return url
}

/// Collects a pipe's bytes on a background reader.
final class OutputCollector: Sendable {
  private let buffer = Mutex(Data())

  init(_ pipe: Pipe) {
    pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
      let chunk = handle.availableData
      if chunk.isEmpty {
        handle.readabilityHandler = nil
      } else {
        self?.buffer.withLock { $0.append(chunk) }
      }
    }
  }

  var data: Data { buffer.withLock { $0 } }
  var text: String { String(decoding: data, as: UTF8.self) }
}

struct CommandResult {
  let status: Int32
  let stdout: Data
  let stderr: String
  var text: String { String(decoding: stdout, as: UTF8.self) }
}

/// Runs `keyquarry <arguments>` to completion (killed after `timeout`).
func runKeyquarry(
  _ arguments: [String], stdin: Data? = nil, environment: [String: String] = [:],
  directory: URL? = nil, timeout: Duration = .seconds(20)
) async throws -> CommandResult {
  try await runProcess(
    keyquarryBinary, arguments, stdin: stdin, environment: environment, directory: directory, timeout: timeout)
}

/// Runs a program to completion (killed after `timeout`), with no KEYQUARRY_* variables
/// but those given.
func runProcess(
  _ program: String, _ arguments: [String], stdin: Data? = nil, environment: [String: String] = [:],
  directory: URL? = nil, timeout: Duration = .seconds(20)
) async throws -> CommandResult {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: program)
  process.arguments = arguments
  var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("KEYQUARRY_") }
  env.merge(environment) { $1 }
  process.environment = env
  if let directory { process.currentDirectoryURL = directory }
  let input = Pipe()
  let output = Pipe()
  let errors = Pipe()
  process.standardInput = input
  process.standardOutput = output
  process.standardError = errors
  let out = OutputCollector(output)
  let err = OutputCollector(errors)
  try process.run()
  if let stdin { input.fileHandleForWriting.write(stdin) }
  try input.fileHandleForWriting.close()
  try await waitForExit(process, timeout: timeout)
  try await Task.sleep(for: .milliseconds(20))  // let the readers drain
  return CommandResult(status: process.terminationStatus, stdout: out.data, stderr: err.text)
}

func waitForExit(_ process: Process, timeout: Duration) async throws {
  let deadline = ContinuousClock.now + timeout
  while process.isRunning {
    if ContinuousClock.now > deadline {
      process.terminate()
      Issue.record("process \(process.arguments ?? []) did not exit within \(timeout)")
      return
    }
    try await Task.sleep(for: .milliseconds(10))
  }
}

/// `keyquarry serve` in the background; the gRPC address is read from its log.
final class ServerProcess {
  let process = Process()
  let output: OutputCollector
  let errors: OutputCollector
  private(set) var address = ""

  init(_ arguments: [String] = ["--listen", "127.0.0.1:0"], environment: [String: String] = [:], directory: URL) throws {
    process.executableURL = URL(fileURLWithPath: keyquarryBinary)
    // The REST gateway listens too: on a free port, so tests can run side by side.
    let http = arguments.contains("--http-address") ? [] : ["--http-address", "127.0.0.1:0"]
    process.arguments = ["serve"] + arguments + http
    var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("KEYQUARRY_") }
    env["HOME"] = directory.path
    env.merge(environment) { $1 }
    process.environment = env
    process.currentDirectoryURL = directory
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    output = OutputCollector(out)
    errors = OutputCollector(err)
    try process.run()
  }

  /// Waits for the "grpc listening" log line and remembers the address it names.
  func waitUntilListening(timeout: Duration = .seconds(15)) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
      if let line = output.text.split(separator: "\n").first(where: { $0.contains("grpc listening") }) {
        if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
          let logged = object["address"] as? String
        {
          address = logged
          return
        }
        if let range = line.range(of: "address=") {
          address = String(line[range.upperBound...].prefix { $0 != " " })
          return
        }
      }
      if !process.isRunning { break }
      try await Task.sleep(for: .milliseconds(20))
    }
    throw ServerDidNotStart(output: output.text + errors.text)
  }

  struct ServerDidNotStart: Error, CustomStringConvertible {
    let output: String
    var description: String { "server did not start:\n\(output)" }
  }

  func client(_ arguments: [String], clientID: String = "e2e", stdin: Data? = nil) async throws -> CommandResult {
    try await runKeyquarry(["client", "--address", address, "--client-id", clientID] + arguments, stdin: stdin)
  }

  /// Sends SIGTERM and waits for the exit status.
  func terminate(timeout: Duration = .seconds(15)) async throws -> Int32 {
    if process.isRunning { kill(process.processIdentifier, SIGTERM) }
    try await waitForExit(process, timeout: timeout)
    return process.terminationStatus
  }

  deinit {
    if process.isRunning { process.terminate() }
  }
}
