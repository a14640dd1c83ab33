import Config
import Core
import Foundation
import Testing

@Suite struct ConfigLoaderTests {
  /// A directory of its own, so no keyquarry.yaml of the machine is picked up.
  let home = FileManager.default.temporaryDirectory.appendingPathComponent("kq-config-\(UUID().uuidString)")

  init() throws {
    try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
  }

  var environment: [String: String] { ["HOME": home.path] }

  func file(_ yaml: String) throws -> String {
    let path = home.appendingPathComponent("\(UUID().uuidString).yaml").path
    try yaml.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  func load(
    flags: [String: String] = [:], env: [String: String] = [:], yaml: String? = nil
  ) async throws -> ServerConfig {
    try await ConfigLoader.load(
      flags: flags, environment: environment.merging(env) { $1 },
      configFile: try yaml.map { try file($0) })
  }

  func expectFailure(
    _ fragment: String, flags: [String: String] = [:], env: [String: String] = [:], yaml: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
  ) async throws {
    do {
      _ = try await load(flags: flags, env: env, yaml: yaml)
      Issue.record("expected a configuration error", sourceLocation: sourceLocation)
    } catch let error as ConfigError {
      #expect(error.description.contains(fragment), "\(error)", sourceLocation: sourceLocation)
      #expect(!error.description.contains("\n"), "one line", sourceLocation: sourceLocation)
    }
  }

  @Test func defaults() async throws {
    let config = try await load()
    #expect(config.listenAddress == "localhost:33969")
    #expect(config.logLevel == "INFO")
    #expect(config.gracefulShutdownTimeout == .seconds(30))
    var machineDefaults = StoreOptions()
    machineDefaults.maxMemory = config.store.maxMemory
    #expect(config.store == machineDefaults)
    #expect(config.store.maxMemory > 0, "half the machine's (or the cgroup's) memory")
    #expect(config.store.maxMemoryPolicy == "refuse")
    #expect(config.store.maxLockDuration == .seconds(900))
    #expect(config.store.eventStreamBufferSize == 10_000)
    #expect(config.store.watchBufferLimit == 32 << 20)
    #expect(config.store.watchBufferTotal == 32 << 20)
    #expect(config.httpAddress == "localhost:33971")
    #expect(config.monitorAddress == "localhost:33970")
    #expect(config.eventLoops == 0, "one loop per CPU the server may run on")
    #expect(config.httpIdleTimeout == .seconds(75))
    #expect(config.grpcResponseCompression == "identity", "responses uncompressed")
    #expect(config.maxConnections == 0, "derived from the descriptor limit")
    #expect(config.handshakeTimeoutIfSet == .seconds(10))
    #expect(config.name.isEmpty == false)
  }

  @Test func theSeedsYAMLExampleLoads() async throws {
    let config = try await load(yaml: """
      listen_address: localhost:33969
      name: foo@bar
      graceful_shutdown_timeout: 30s
      log_level: NOTICE
      log_json: false
      log_events: false
      event_stream_buffer_size: 1000
      event_stream_send_timeout: 1s
      event_stream_subscriber_limit: 0
      snapshot:
        database: postgres://keyquarry:keyquarry@localhost:5432/keyquarry
        enabled: true
        interval: 5m
      monitor_address: localhost:33970
      metrics: false
      expvar: false
      pprof: false
      trace: false
      service_name: keyquarry
      revision_limit: 5
      max_key_length: 1024
      max_value_size: 1000000
      min_lock_duration: 5s
      max_lock_duration: 5m
      min_lifespan: 5s
      max_keys: 10000
      prune_interval: 1h
      prune_at: 10000
      prune_to: 9000
      eager_prune_at: 20000
      eager_prune_to: 15000
      """)
    #expect(config.name == "foo@bar")
    #expect(config.logLevel == "NOTICE")
    #expect(config.store.eventStreamBufferSize == 1000)
    #expect(config.store.snapshotEnabled)
    #expect(config.store.snapshotInterval == .seconds(300))
    #expect(config.snapshotDatabase == "postgres://keyquarry:keyquarry@localhost:5432/keyquarry")
    #expect(config.store.maxLockDuration == .seconds(300))
    #expect(config.store.maxKeys == 10000)
    #expect(config.store.pruneInterval == .seconds(3600))
    #expect(config.store.pruneTo == 9000)
    #expect(config.store.eagerPruneTo == 15000)
  }

  @Test func flagsBeatEnvironmentBeatsFileBeatsDefaults() async throws {
    let yaml = "listen_address: file:1\nname: from-file\nmax_keys: 7\n"
    let env = ["KEYQUARRY_LISTEN_ADDRESS": "env:2", "KEYQUARRY_NAME": "from-env"]
    let config = try await load(flags: ["listen_address": "flag:3"], env: env, yaml: yaml)
    #expect(config.listenAddress == "flag:3")
    #expect(config.name == "from-env")
    #expect(config.store.maxKeys == 7)
    #expect(config.store.maxValueSize == 1_000_000)
  }

  @Test func environmentNamesAndAliases() async throws {
    let config = try await load(env: [
      "KEYQUARRY_SNAPSHOT_DATABASE": "sqlite:///tmp/kq.db",
      "KEYQUARRY_SNAPSHOT_ENABLED": "1",
      "KEYQUARRY_GRACEFUL_STOP_TIMEOUT": "1m30s",
      "KEYQUARRY_KEEP_KEY_HISTORY_AFTER_DELETE": "true",
      "KEYQUARRY_METRICS": "true",
      "KEYQUARRY_REVISION_LIMIT": "-1",
      "KEYQUARRY_HTTP_CORS_ORIGINS": "https://a.example, https://b.example",
      "KEYQUARRY_MAX_KEY_LENGTH": "0",
      "KEYQUARRY_MAX_CONNECTIONS": "500",
      "KEYQUARRY_HANDSHAKE_TIMEOUT": "0",
    ])
    #expect(config.snapshotDatabase == "sqlite:///tmp/kq.db")
    #expect(config.store.snapshotEnabled)
    #expect(config.gracefulShutdownTimeout == .seconds(90))
    #expect(config.store.keepDeletedKeyHistory)
    #expect(config.prometheus)
    #expect(config.store.revisionLimit == -1)
    #expect(config.httpCorsOrigins == ["https://a.example", "https://b.example"])
    #expect(config.store.maxKeyLength == 1024, "0 means the default, as in the original")
    #expect(config.maxConnections == 500)
    #expect(config.handshakeTimeoutIfSet == nil, "0: connections may take as long as they like to start")
  }

  @Test func byteSizesTakeUnits() async throws {
    let config = try await load(
      env: ["KEYQUARRY_WATCH_BUFFER_LIMIT": "16MiB", "KEYQUARRY_WATCH_BUFFER_TOTAL": "0"],
      yaml: "watch_buffer_soft_limit: 512kb\nwatch_buffer_soft_time: 5s\n")
    #expect(config.store.watchBufferLimit == 16 << 20)
    #expect(config.store.watchBufferSoftLimit == 512 << 10)
    #expect(config.store.watchBufferSoftTime == .seconds(5))
    #expect(config.store.watchBufferTotal == 0, "0: no total")
    #expect(try await load(flags: ["watch_buffer_limit": "16777216"]).store.watchBufferLimit == 16 << 20)
    try await expectFailure("invalid value '12 parsecs' for watch_buffer_limit", flags: ["watch_buffer_limit": "12 parsecs"])
    try await expectFailure("invalid value '-1MiB' for watch_buffer_total", flags: ["watch_buffer_total": "-1MiB"])
    #expect(try await load(yaml: "max_memory: 0\nmax_memory_policy: prune\n").store.maxMemory == 0, "0: none")
    try await expectFailure(
      "invalid value 'lru' for max_memory_policy", flags: ["max_memory_policy": "lru"])
    try await expectFailure(
      "watch_buffer_soft_limit must not be more than watch_buffer_limit",
      flags: ["watch_buffer_limit": "1MiB", "watch_buffer_soft_limit": "2MiB"])
  }

  @Test func yamlListsAndNestedKeys() async throws {
    let config = try await load(yaml: "http_cors_origins:\n  - https://a.example\n  - '*'\nsnapshot:\n  enabled: yes\n")
    #expect(config.httpCorsOrigins == ["https://a.example", "*"])
    #expect(config.store.snapshotEnabled)
  }

  @Test func badConfigurationsNameTheOptionAndTheSource() async throws {
    try await expectFailure("unknown option 'max_kyes'", yaml: "max_kyes: 3\n")
    try await expectFailure("unknown option 'snapshot.intervall'", yaml: "snapshot:\n  intervall: 5m\n")
    try await expectFailure("invalid value '-3' for max_keys", yaml: "max_keys: -3\n")
    try await expectFailure("config file", yaml: "max_keys: -3\n")
    try await expectFailure(
      "invalid value 'soon' for snapshot.interval (environment variable KEYQUARRY_SNAPSHOT_INTERVAL)",
      env: ["KEYQUARRY_SNAPSHOT_INTERVAL": "soon"])
    try await expectFailure("invalid value 'maybe' for log_json", env: ["KEYQUARRY_LOG_JSON": "maybe"])
    try await expectFailure("invalid value 'LOUD' for log_level (flag", flags: ["log_level": "LOUD"])
    try await expectFailure("revision_limit", env: ["KEYQUARRY_REVISION_LIMIT": "-2"])
    try await expectFailure(
      "invalid value 'two' for event_loops (environment variable KEYQUARRY_EVENT_LOOPS)",
      env: ["KEYQUARRY_EVENT_LOOPS": "two"])
    try await expectFailure("invalid value '-1' for event_loops (flag", flags: ["event_loops": "-1"])
    try await expectFailure(
      "invalid value 'br' for grpc_response_compression", env: ["KEYQUARRY_GRPC_RESPONSE_COMPRESSION": "br"])
    try await expectFailure("invalid value 'many' for max_connections", env: ["KEYQUARRY_MAX_CONNECTIONS": "many"])
    try await expectFailure("prune_to must be less than prune_at", yaml: "prune_interval: 1s\nprune_at: 10\nprune_to: 20\n")
    try await expectFailure("eager_prune_to must be less than eager_prune_at", yaml: "eager_prune_at: 5\neager_prune_to: 5\n")
    try await expectFailure("ssl_certfile and ssl_keyfile", env: ["KEYQUARRY_SSL_CERTFILE": "/tmp/cert.pem"])
    try await expectFailure("listen_address", flags: ["listen_address": "unix://relative.sock"])
    try await expectFailure(
      "snapshot.database", env: ["KEYQUARRY_SNAPSHOT_ENABLED": "true", "KEYQUARRY_SNAPSHOT_DATABASE": "mysql://x"])
    try await expectFailure("cannot parse config file", yaml: "max_keys: [1, \n")
    try await expectFailure("must be a mapping", yaml: "- a\n- b\n")
    do {
      _ = try await ConfigLoader.load(environment: environment, configFile: home.appendingPathComponent("missing.yaml").path)
      Issue.record("a missing --config file must fail")
    } catch {
      #expect(error.description.contains("cannot read config file"))
    }
  }

  @Test func aKeyquarryYAMLInTheUserConfigDirectoryIsFound() async throws {
    let directory = home.appendingPathComponent(".config/keyquarry")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    try "name: found\n".write(to: directory.appendingPathComponent("keyquarry.yaml"), atomically: true, encoding: .utf8)
    #expect(try await load().name == "found")
  }
}
