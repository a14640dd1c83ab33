import ArgumentParser
import GRPCCore
import Foundation
import KeyquarryProtos
import SwiftProtobuf

struct WatchCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "watch", abstract: "Print events as they happen, one JSON object per line.",
    discussion: "keyquarry client watch --key foo --event UPDATED | jq -r .key")

  @ParentCommand var client: Client
  @Option(name: .customLong("key"), help: "Only this key (repeatable).") var keys: [String] = []
  @Option(name: .customLong("event"), help: "Only this event type, e.g. UPDATED (repeatable).")
  var events: [String] = []
  @Option(name: .customLong("from-client"), help: "Only events by this client id (repeatable).")
  var clientIDs: [String] = []

  func run() async throws {
    var request = Keyquarry_WatchRequest()
    request.keys = keys
    request.clientIds = clientIDs
    request.events = try events.map { name in
      guard let event = Keyquarry_KeyEvent(name: name.uppercased()) else {
        throw ValidationError("unknown event type '\(name)'")
      }
      return event
    }
    var options = CallOptions.defaults
    options.timeout = nil
    try await client.call { [request, options] connection in
      try await connection.keyquarry.watchStream(request, options: options) { response in
        for try await event in response.messages { try Output.json(event, indent: client.indent) }
      }
    }
  }
}

struct WatchKeyCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "watch-key",
    abstract: "Print a key's value whenever it changes, one JSON object per line.",
    discussion: "Exits after the key is deleted, expired or expunged.\n  keyquarry client watch-key foo")

  @ParentCommand var client: Client
  @Argument(help: "The key.") var key: String

  func run() async throws {
    let request = Keyquarry_WatchKeyValueRequest.with { $0.key = key }
    var options = CallOptions.defaults
    options.timeout = nil
    try await client.call { [options] connection in
      try await connection.keyquarry.watchKeyValue(request, options: options) { response in
        for try await update in response.messages {
          try Output.json(update, indent: client.indent)
          if [.deleted, .expired, .expunged].contains(update.keyEvent) { return }
        }
      }
    }
  }
}

extension Keyquarry_KeyEvent {
  init?(name: String) {
    guard let match = Self.allCases.first(where: { "\($0)".uppercased() == name.replacingOccurrences(of: "_", with: "") })
    else { return nil }
    self = match
  }
}
