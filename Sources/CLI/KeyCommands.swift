import ArgumentParser
import Core
import Foundation
import GRPCCore
import KeyquarryProtos
import SwiftProtobuf

/// Parses a duration argument such as `30s` or `1m30s`.
func parseDuration(_ text: String, _ what: String) throws -> Google_Protobuf_Duration {
  guard let duration = DurationParser.parse(text) else {
    throw ValidationError("invalid duration '\(text)' for \(what): use e.g. 500ms, 30s or 1m30s")
  }
  return Google_Protobuf_Duration(rounding: duration)
}

struct SetCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "set",
    abstract: "Create or update a key.",
    discussion: """
      The value is the argument, or stdin when stdin is not a terminal:
        keyquarry client set foo bar
        keyquarry client set img --content-type image/png < photo.png
      """)

  @ParentCommand var client: Client
  @Argument(help: "The key.") var key: String
  @Argument(help: "The value (default: read stdin).") var value: String?
  @Option(help: "Delete the key after this long, e.g. 1h.") var lifespan: String?
  @Option(help: "Lock the key for this long, e.g. 30s.") var lock: String?
  @Option(name: .customLong("content-type"), help: "Content type (default: inferred).")
  var contentType: String?

  func run() async throws {
    var request = Keyquarry_KeyValue()
    request.key = key
    request.value = try Output.value(argument: value)
    if let contentType { request.contentType = contentType }
    if let lifespan { request.lifespan = try parseDuration(lifespan, "--lifespan") }
    if let lock { request.lockDuration = try parseDuration(lock, "--lock") }
    let response = try await client.call { try await $0.keyquarry.set(request, options: $0.options) }
    try Output.json(response, indent: client.indent)
  }
}

struct GetCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "get",
    abstract: "Print the value of a key (raw bytes).",
    discussion: """
      keyquarry client get foo
      keyquarry client get foo --revision 1    (version 1)
      keyquarry client get foo --revision -1   (one version before the latest)
      """)

  @ParentCommand var client: Client
  @Argument(help: "The key.") var key: String
  // Unconditional: `-1` is a value here, not an option.
  @Option(parsing: .unconditional, help: "Version to read: >0 exact, <0 relative to the latest, 0 current.")
  var revision: Int64 = 0

  func run() async throws {
    let value = try await client.call { connection in
      if revision == 0 {
        return try await connection.keyquarry.get(.with { $0.key = key }, options: connection.options).value
      }
      let request = Keyquarry_GetRevisionRequest.with {
        $0.key = key
        $0.version = revision
      }
      return try await connection.keyquarry.getRevision(request, options: connection.options).value
    }
    Output.raw(value)
  }
}

struct InspectCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "inspect",
    abstract: "Print a key's metadata as JSON.",
    discussion: "keyquarry client --indent=2 info foo",
    aliases: ["info"])

  @ParentCommand var client: Client
  @Argument(help: "The key.") var key: String
  @Flag(name: .customLong("with-value"), help: "Include the value (base64).") var withValue = false
  @Flag(name: .customLong("with-metrics"), help: "Include the key's metrics.") var withMetrics = false

  func run() async throws {
    let request = Keyquarry_InspectRequest.with {
      $0.key = key
      $0.includeValue = withValue
      $0.includeMetrics = withMetrics
    }
    let response = try await client.call { try await $0.keyquarry.inspect(request, options: $0.options) }
    try Output.json(response, indent: client.indent)
  }
}

struct DeleteCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "delete", abstract: "Delete a key.", discussion: "keyquarry client delete foo")

  @ParentCommand var client: Client
  @Argument(help: "The key.") var key: String

  func run() async throws {
    let request = Keyquarry_DeleteRequest.with { $0.key = key }
    let response = try await client.call { try await $0.keyquarry.delete(request, options: $0.options) }
    try Output.json(response, indent: client.indent)
  }
}

struct ExistsCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "exists", abstract: "Tell whether a key exists: prints true (status 0) or false (status 1).",
    discussion: "keyquarry client exists foo && echo present")

  @ParentCommand var client: Client
  @Argument(help: "The key.") var key: String

  func run() async throws {
    let request = Keyquarry_Key.with { $0.key = key }
    let response = try await client.call { try await $0.keyquarry.exists(request, options: $0.options) }
    Output.line(response.exists ? "true" : "false")
    if !response.exists { throw ExitCode(1) }
  }
}

struct PopCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "pop", abstract: "Print the value of a key and delete the key.",
    discussion: "keyquarry client pop foo")

  @ParentCommand var client: Client
  @Argument(help: "The key.") var key: String

  func run() async throws {
    let request = Keyquarry_PopRequest.with { $0.key = key }
    let response = try await client.call { try await $0.keyquarry.pop(request, options: $0.options) }
    Output.raw(response.value)
  }
}

struct ListCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "list", abstract: "List keys, one per line, sorted.",
    discussion: "keyquarry client list --pattern '^user/' --limit 10")

  @ParentCommand var client: Client
  @Option(help: "Regular expression (RE2 syntax) the keys must contain.") var pattern = ""
  @Option(help: "At most this many keys (0: all).") var limit: UInt64 = 0
  @Flag(name: .customLong("include-reserved"), help: "Include keyquarry/* keys.") var includeReserved = false

  func run() async throws {
    let request = Keyquarry_ListKeysRequest.with {
      $0.pattern = pattern
      $0.limit = limit
      $0.includeReserved = includeReserved
    }
    let response = try await client.call { try await $0.keyquarry.listKeys(request, options: $0.options) }
    for key in response.keys { Output.line(key) }
  }
}

struct ClearCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "clear", abstract: "Delete every unlocked key (every key with --force).",
    discussion: "keyquarry client clear --force")

  @ParentCommand var client: Client
  @Flag(help: "Delete locked keys too.") var force = false

  func run() async throws {
    let request = Keyquarry_ClearRequest.with { $0.force = force }
    let response = try await client.call { try await $0.keyquarry.clear(request, options: $0.options) }
    try Output.json(response, indent: client.indent)
  }
}

struct KeyMetricCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "key-metric", abstract: "Print a key's lifetime metrics.",
    discussion: "keyquarry client key-metric foo", aliases: ["metrics"])

  @ParentCommand var client: Client
  @Argument(help: "The key.") var key: String

  func run() async throws {
    let request = Keyquarry_KeyMetricRequest.with { $0.key = key }
    let response = try await client.call { try await $0.keyquarry.getKeyMetric(request, options: $0.options) }
    try Output.json(response, indent: client.indent)
  }
}
