import ArgumentParser
import Foundation
import KeyquarryProtos
import SwiftProtobuf

struct StatsCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "stats", abstract: "Print server-wide counters.", discussion: "keyquarry client stats | jq .keys")

  @ParentCommand var client: Client

  func run() async throws {
    let response = try await client.call {
      try await $0.keyquarry.stats(Keyquarry_EmptyRequest(), options: $0.options)
    }
    try Output.json(response, indent: client.indent)
  }
}

struct ClearHistoryCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "clear-history", abstract: "Forget the revision history of every key.",
    discussion: "keyquarry client clear-history")

  @ParentCommand var client: Client

  func run() async throws {
    let response = try await client.call {
      try await $0.keyquarry.clearHistory(Keyquarry_EmptyRequest(), options: $0.options)
    }
    try Output.json(response, indent: client.indent)
  }
}

struct RegisterCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "register", abstract: "Register the client id (every command also does).",
    discussion: "keyquarry client --client-id me register")

  @ParentCommand var client: Client

  func run() async throws {
    // `call` already registered; report the id it used.
    let id = client.effectiveClientID
    try await client.call(registering: true) { _ in }
    try Output.json(Keyquarry_RegisterResponse.with {
      $0.success = true
      $0.clientID = id
    }, indent: client.indent)
  }
}

struct ReadOnlyCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "readonly", abstract: "Turn read-only mode on or off (privileged client).",
    discussion: "keyquarry client --client-id admin readonly on")

  @ParentCommand var client: Client
  @Argument(help: "on or off.") var mode: String

  func run() async throws {
    let enable: Bool
    switch mode.lowercased() {
    case "on": enable = true
    case "off": enable = false
    default: throw ValidationError("invalid choice (must be: on or off)")
    }
    let request = Keyquarry_ReadOnlyRequest.with { $0.enable = enable }
    let response = try await client.call { try await $0.keyquarry.setReadOnly(request, options: $0.options) }
    try Output.json(response, indent: client.indent)
  }
}

struct PruneCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "prune", abstract: "Expunge the stalest keys down to a count (privileged client).",
    discussion: "keyquarry client --client-id admin prune 1000 keep/this")

  @ParentCommand var client: Client
  @Argument(help: "Keep at most this many keys.") var pruneTo: UInt64
  @Argument(help: "Keys never to expunge.") var ignoreKeys: [String] = []

  func run() async throws {
    let request = Keyquarry_PruneRequest.with {
      $0.pruneTo = pruneTo
      $0.ignoreKeys = ignoreKeys
    }
    let response = try await client.call { try await $0.admin.prune(request, options: $0.options) }
    try Output.json(response, indent: client.indent)
  }
}

struct ShutdownCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "shutdown", abstract: "Shut the server down gracefully (privileged client).",
    discussion: "keyquarry client --client-id admin shutdown", aliases: ["server-shutdown"])

  @ParentCommand var client: Client

  func run() async throws {
    let response = try await client.call {
      try await $0.admin.shutdown(Keyquarry_ShutdownRequest(), options: $0.options)
    }
    try Output.json(response, indent: client.indent)
  }
}

struct TakeSnapshotCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "snapshot", abstract: "Take a snapshot now (privileged client; snapshots enabled).",
    discussion: "keyquarry client --client-id admin snapshot")

  @ParentCommand var client: Client

  func run() async throws {
    let response = try await client.call {
      try await $0.admin.snapshot(Keyquarry_SnapshotRequest(), options: $0.options)
    }
    try Output.json(response, indent: client.indent)
  }
}
