import ArgumentParser
import Foundation
import GRPCCore
import KeyquarryProtos
import SwiftProtobuf

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Bulk set: many keys concurrently over one connection.
struct LoadCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "load",
    abstract: "Set many keys from KEY=VALUE arguments or stdin lines.",
    discussion: """
      Prints one JSON line per key; a progress bar and a summary on stderr. Exit status 1
      if any key failed.
        seq 1 1000 | sed 's/.*/key&=value&/' | keyquarry client load --lifespan 1h
      """)

  @ParentCommand var client: Client
  @Argument(help: "KEY=VALUE items (default: stdin lines).") var items: [String] = []
  @Option(help: "Lifespan of every key, e.g. 1h.") var lifespan: String?
  @Option(help: "Lock every key for this long, e.g. 30s.") var lock: String?
  @Option(help: "Calls in flight at once.") var concurrency = 32

  func run() async throws {
    var lines = items
    if lines.isEmpty, isatty(STDIN_FILENO) == 0 {
      lines = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        .split(whereSeparator: \.isNewline).map(String.init)
    }
    guard !lines.isEmpty else { throw ValidationError("no values provided") }
    var template = Keyquarry_KeyValue()
    if let lifespan { template.lifespan = try parseDuration(lifespan, "--lifespan") }
    if let lock { template.lockDuration = try parseDuration(lock, "--lock") }
    let requests = lines.map { line in
      var request = template
      let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      request.key = String(parts[0])
      request.value = Data((parts.count > 1 ? parts[1] : "").utf8)
      return request
    }

    let progress = Progress(total: requests.count)
    let failed = try await client.call { connection in
      try await withThrowingTaskGroup(of: (Keyquarry_KeyValue, Result<Keyquarry_SetResponse, RPCError>).self) { group in
        var pending = requests[...]
        var failed = 0
        func next() {
          guard let request = pending.popFirst() else { return }
          group.addTask {
            do {
              return (request, .success(try await connection.keyquarry.set(request, options: connection.options)))
            } catch let error as RPCError {
              return (request, .failure(error))
            }
          }
        }
        for _ in 0..<max(1, concurrency) { next() }
        while let (request, result) = try await group.next() {
          switch result {
          case .success(let response):
            Output.line(try Self.line(key: request.key, response))
          case .failure(let error):
            failed += 1
            printError("error: \(request.key): rpc error: code = \(error.code.goName) desc = \(error.message)")
          }
          progress.advance()
          next()
        }
        return failed
      }
    }
    progress.finish(failed: failed)
    if failed > 0 { throw ExitCode(1) }
  }

  /// `{"key":…,"success":…,"isNew":…}`, in that order on every line (JSONEncoder's order
  /// of a struct's keys changes from one line to the next on Linux).
  static func line(key: String, _ response: Keyquarry_SetResponse) throws -> String {
    let key = String(decoding: try JSONEncoder().encode(key), as: UTF8.self)
    return "{\"key\":\(key),\"success\":\(response.success),\"isNew\":\(response.isNew)}"
  }
}

/// A progress bar on stderr when it is a terminal, and a summary line always.
final class Progress {
  let total: Int
  private var done = 0
  private let interactive = isatty(STDERR_FILENO) == 1

  init(total: Int) { self.total = total }

  func advance() {
    done += 1
    guard interactive, done == total || done % max(1, total / 100) == 0 else { return }
    let width = 30
    let filled = width * done / total
    let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
    StandardStream.write(Data("\r[\(bar)] \(done)/\(total)".utf8), to: STDERR_FILENO)
  }

  func finish(failed: Int) {
    if interactive { StandardStream.write(Data("\n".utf8), to: STDERR_FILENO) }
    printError("loaded \(total - failed) of \(total) keys, \(failed) failed")
  }
}
