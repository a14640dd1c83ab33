import ArgumentParser
import Config
import Foundation
import Persistence

/// `keyquarry snapshot …`: the snapshots of the configured database (snapshot.database,
/// from --config, KEYQUARRY_SNAPSHOT_DATABASE or ./keyquarry.db).
struct SnapshotCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "snapshot", abstract: "List snapshots, or choose the one the next start restores.",
    subcommands: [ListSnapshots.self, RestoreSnapshot.self])

  struct Options: ParsableArguments {
    @Option(help: "YAML configuration file (for snapshot.database and name).") var config: String?
    @Option(help: "Snapshot database URL, e.g. sqlite:///var/lib/keyquarry.db.") var database: String?

    func open() async throws -> (any SnapshotDatabase, ServerConfig) {
      let flags = database.map { ["snapshot.database": $0] } ?? [:]
      let serverConfig: ServerConfig
      do {
        serverConfig = try await ConfigLoader.load(
          flags: flags, environment: ProcessInfo.processInfo.environment, configFile: config)
      } catch {
        throw ValidationError("\(error)")
      }
      let database = try SnapshotDatabases.open(
        serverConfig.snapshotDatabase, connectTimeout: serverConfig.postgresConnectTimeout)
      try await database.prepare()
      return (database, serverConfig)
    }
  }

  struct ListSnapshots: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "list", abstract: "Print the complete snapshots, newest first, one JSON object per line.",
      discussion: "keyquarry snapshot list --database sqlite:///var/lib/keyquarry.db | jq .id")

    @OptionGroup var options: Options
    @Option(help: "Only this server name (default: all).") var name: String?

    func run() async throws {
      let (database, _) = try await options.open()
      for info in try await database.list(name: name) {
        try printJSON([
          "id": info.id, "name": info.name, "created": info.created.formatted(.iso8601), "keys": info.keys,
          "bytes": info.bytes,
        ])
      }
      try await database.close()
    }
  }

  struct RestoreSnapshot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "restore", abstract: "Make snapshot ID the one the next `serve` restores.",
      discussion: "Copies it as the newest snapshot of the server's name.\n  keyquarry snapshot restore --id 42")

    @OptionGroup var options: Options
    @Option(help: "The snapshot to restore.") var id: Int64
    @Option(help: "Server name to restore it for (default: the configured name).") var name: String?

    func run() async throws {
      let (database, config) = try await options.open()
      do {
        try await database.claim(.alone)
        let info = try await database.promote(id, as: name ?? config.name)
        try printJSON(["id": info.id, "restoredFrom": id, "name": info.name])
      } catch let error as SnapshotError {
        throw ValidationError(error.description)
      }
      try await database.close()
    }
  }
}

private func printJSON(_ object: [String: Any]) throws {
  let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
  print(String(decoding: data, as: UTF8.self))
}
