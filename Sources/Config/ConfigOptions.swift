import Foundation
import Core

/// One configuration option: its YAML key (dots for nesting), accepted aliases, and how
/// a textual value is checked and stored. Env names derive from the key:
/// `snapshot.database` → `KEYQUARRY_SNAPSHOT_DATABASE`.
struct ConfigOption {
  let key: String
  var aliases: [String] = []
  /// Parses `text` into the config or throws a message saying what was expected.
  let apply: (inout ServerConfig, String) throws(ValueError) -> Void
  /// The effective value, as the start-up log shows it.
  let show: (ServerConfig) -> String

  struct ValueError: Error { let expected: String }
}

extension ConfigOption {
  static func string(_ key: String, _ path: WritableKeyPath<ServerConfig, String>) -> Self {
    ConfigOption(key: key, apply: { config, text throws(ValueError) in config[keyPath: path] = text }) {
      $0[keyPath: path]
    }
  }

  static func bool(
    _ key: String, aliases: [String] = [], _ path: WritableKeyPath<ServerConfig, Bool>
  ) -> Self {
    ConfigOption(key: key, aliases: aliases, apply: { config, text throws(ValueError) in
      switch text.lowercased() {
      case "1", "t", "true", "yes", "on": config[keyPath: path] = true
      case "0", "f", "false", "no", "off": config[keyPath: path] = false
      default: throw ValueError(expected: "true or false")
      }
    }) { "\($0[keyPath: path])" }
  }

  /// A non-negative integer; `zeroMeans` replaces 0 (the original's "0 → default").
  static func count(
    _ key: String, _ path: WritableKeyPath<ServerConfig, Int>, zeroMeans: Int? = nil,
    positive: Bool = false
  ) -> Self {
    ConfigOption(key: key, apply: { config, text throws(ValueError) in
      guard let value = Int(text.trimmingCharacters(in: .whitespaces)), value >= 0,
        !(positive && value == 0)
      else { throw ValueError(expected: positive ? "a positive integer" : "a non-negative integer") }
      config[keyPath: path] = value == 0 ? (zeroMeans ?? 0) : value
    }) { "\($0[keyPath: path])" }
  }

  /// A size in bytes (`ByteSize`); 0 for none.
  static func bytes(_ key: String, _ path: WritableKeyPath<ServerConfig, Int>) -> Self {
    ConfigOption(key: key, apply: { config, text throws(ValueError) in
      guard let value = ByteSize.parse(text) else {
        throw ValueError(expected: "a size in bytes like 1048576, 512KiB, 64MiB or 1GiB")
      }
      config[keyPath: path] = value
    }) { ByteSize.format($0[keyPath: path]) }
  }

  /// One of `choices`, spelled exactly.
  static func choice(_ key: String, _ path: WritableKeyPath<ServerConfig, String>, _ choices: [String]) -> Self {
    ConfigOption(key: key, apply: { config, text throws(ValueError) in
      guard choices.contains(text) else { throw ValueError(expected: "one of " + choices.joined(separator: ", ")) }
      config[keyPath: path] = text
    }) { $0[keyPath: path] }
  }

  /// Comma separated; blanks dropped.
  static func list(_ key: String, _ path: WritableKeyPath<ServerConfig, [String]>) -> Self {
    ConfigOption(key: key, apply: { config, text throws(ValueError) in
      config[keyPath: path] = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }
    }) { $0[keyPath: path].joined(separator: ",") }
  }

  static func duration(
    _ key: String, aliases: [String] = [], _ path: WritableKeyPath<ServerConfig, Duration>,
    zeroMeans: Duration? = nil
  ) -> Self {
    ConfigOption(key: key, aliases: aliases, apply: { config, text throws(ValueError) in
      guard let value = DurationParser.parse(text), value >= .zero else {
        throw ValueError(expected: "a duration like 500ms, 5s or 1m30s")
      }
      config[keyPath: path] = value == .zero ? (zeroMeans ?? .zero) : value
    }) { DurationParser.format($0[keyPath: path]) }
  }

  /// Every option of `serve` (the README's Configuration table).
  static var all: [ConfigOption] { [
    .string("listen_address", \.listenAddress),
    .string("name", \.name),
    .duration("graceful_shutdown_timeout", aliases: ["graceful_stop_timeout"], \.gracefulShutdownTimeout),
    .duration("shutdown_delay", \.shutdownDelay),
    .count("event_loops", \.eventLoops),
    ConfigOption(key: "log_level", apply: { config, text throws(ValueError) in
      let level = text.uppercased()
      guard LogLevelName.all.contains(level) else {
        throw ValueError(expected: "one of " + LogLevelName.all.joined(separator: ", "))
      }
      config.logLevel = level
    }) { $0.logLevel },
    .bool("log_json", \.logJSON),
    .bool("log_events", \.logEvents),
    .count("event_stream_buffer_size", \.store.eventStreamBufferSize, positive: true),
    .duration("event_stream_send_timeout", \.store.eventStreamSendTimeout, zeroMeans: .seconds(1)),
    .count("event_stream_subscriber_limit", \.store.eventStreamSubscriberLimit),
    .bytes("watch_buffer_limit", \.store.watchBufferLimit),
    .bytes("watch_buffer_soft_limit", \.store.watchBufferSoftLimit),
    .duration("watch_buffer_soft_time", \.store.watchBufferSoftTime),
    .bytes("watch_buffer_total", \.store.watchBufferTotal),
    .bytes("max_memory", \.store.maxMemory),
    .choice("max_memory_policy", \.store.maxMemoryPolicy, ["refuse", "prune"]),
    .bool("snapshot.enabled", \.store.snapshotEnabled),
    .duration("snapshot.interval", \.store.snapshotInterval),
    ConfigOption(key: "snapshot.database", apply: { config, text throws(ValueError) in
      config.snapshotDatabase = text
    }) { ServerConfig.redactingPassword($0.snapshotDatabase) },
    .duration("snapshot.postgres.connect_timeout", \.postgresConnectTimeout, zeroMeans: .seconds(5)),
    .choice("durability", \.durability, ["snapshot", "everysec", "always"]),
    ConfigOption(key: "journal.path", apply: { config, text throws(ValueError) in
      config.journalPathSetting = text
    }) { $0.journalPath },
    .bool("journal.truncate_corrupt", \.journalTruncateCorrupt),
    .bool("start_fresh", \.startFresh),
    .string("monitor_address", \.monitorAddress),
    .bool("prometheus", aliases: ["metrics"], \.prometheus),
    .bool("expvar", \.expvar),
    .bool("pprof", \.pprof),
    .bool("trace", \.trace),
    .string("tracer_name", \.tracerName),
    .string("service_name", \.serviceName),
    ConfigOption(key: "revision_limit", apply: { config, text throws(ValueError) in
      guard let value = Int(text.trimmingCharacters(in: .whitespaces)), value >= -1 else {
        throw ValueError(expected: "-1 (unlimited), 0 (off) or a positive integer")
      }
      config.store.revisionLimit = value
    }) { "\($0.store.revisionLimit)" },
    .bool("persistent_revisions", \.persistentRevisions),
    .bool(
      "keep_deleted_key_history", aliases: ["keep_key_history_after_delete"],
      \.store.keepDeletedKeyHistory),
    .duration("deleted_key_history_max_age", \.deletedKeyHistoryMaxAge),
    .count("max_key_length", \.store.maxKeyLength, zeroMeans: 1024),
    .count("max_value_size", \.store.maxValueSize, zeroMeans: 1_000_000),
    .count("max_keys", \.store.maxKeys),
    .count("max_client_ids", \.store.maxClientIDs),
    .duration("min_lock_duration", \.store.minLockDuration, zeroMeans: .seconds(5)),
    .duration("max_lock_duration", \.store.maxLockDuration, zeroMeans: .seconds(15 * 60)),
    .duration("min_lifespan", \.store.minLifespan, zeroMeans: .seconds(5)),
    .duration("prune_interval", \.store.pruneInterval),
    .count("prune_at", \.store.pruneAt),
    .count("prune_to", \.store.pruneTo),
    .count("eager_prune_at", \.store.eagerPruneAt),
    .count("eager_prune_to", \.store.eagerPruneTo),
    .choice("grpc_response_compression", \.grpcResponseCompression, ["identity", "gzip", "deflate"]),
    .count("grpc_response_compression_min_bytes", \.grpcResponseCompressionMinBytes),
    .string("ssl_certfile", \.sslCertfile),
    .string("ssl_keyfile", \.sslKeyfile),
    .string("privileged_client_id", \.store.privilegedClientID),
    .bool("readonly", \.store.readOnly),
    .string("http_address", \.httpAddress),
    .bool("http_enabled", \.httpEnabled),
    .list("http_cors_origins", \.httpCorsOrigins),
    .list("http_allowed_hosts", \.httpAllowedHosts),
    .duration("sse_heartbeat", \.sseHeartbeat, zeroMeans: .seconds(15)),
    .duration("http_idle_timeout", \.httpIdleTimeout),
    .bool("http_ui", \.httpUI),
    .count("max_connections", \.maxConnections),
    .duration("handshake_timeout", \.handshakeTimeout),
  ] }
}
