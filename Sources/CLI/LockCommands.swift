import ArgumentParser
import Foundation
import KeyquarryProtos
import SwiftProtobuf

struct LockCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "lock",
    abstract: "Lock a key for a duration; locking again extends the lock.",
    discussion: "keyquarry client lock foo 30s --create-if-missing")

  @ParentCommand var client: Client
  @Argument(help: "The key.") var key: String
  @Argument(help: "How long, e.g. 30s.") var duration: String
  @Flag(name: .customLong("create-if-missing"), help: "Create the key (empty) if missing.")
  var createIfMissing = false

  func run() async throws {
    var request = Keyquarry_LockRequest()
    request.key = key
    request.duration = try parseDuration(duration, "the lock")
    request.createIfMissing = createIfMissing
    let response = try await client.call { [request] in
      try await $0.keyquarry.lock(request, options: $0.options)
    }
    try Output.json(response, indent: client.indent)
  }
}

struct UnlockCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "unlock", abstract: "Unlock a key you locked.",
    discussion: "keyquarry client unlock foo")

  @ParentCommand var client: Client
  @Argument(help: "The key.") var key: String

  func run() async throws {
    let request = Keyquarry_UnlockRequest.with { $0.key = key }
    let response = try await client.call { try await $0.keyquarry.unlock(request, options: $0.options) }
    try Output.json(response, indent: client.indent)
  }
}
