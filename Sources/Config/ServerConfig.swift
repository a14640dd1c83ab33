import Core
import Foundation

/// Everything `keyquarry serve` can be told, with the original's defaults and the
/// decisions the README lists. Filled by `ConfigLoader` from flags, environment and a YAML file.
public struct ServerConfig: Sendable, Equatable {
  public var listenAddress = "localhost:33969"
  public var name = ServerConfig.defaultName
  public var gracefulShutdownTimeout: Duration = .seconds(30)
  /// How long the listeners keep serving after a graceful shutdown starts, with /readyz
  /// already 503, so that load balancers stop sending requests first.
  public var shutdownDelay: Duration = .zero
  /// Event-loop threads serving every listener; 0: one per CPU the process may run on.
  public var eventLoops = 0
  public var logLevel = LogLevelName.info
  public var logJSON = false
  public var logEvents = false
  /// Limits, pruning, event streams, privileged id, read-only, snapshot enabled/interval.
  public var store = StoreOptions()
  public var snapshotDatabase = ""
  /// How long PostgreSQL may take to answer before start-up (or a snapshot command) fails.
  public var postgresConnectTimeout: Duration = .seconds(5)
  /// `snapshot` (changes since the last snapshot are lost in a crash), `everysec` or
  /// `always` (a write-ahead journal, synced each second or before each answer).
  public var durability = "snapshot"
  /// `journal.path` as given; `journalPath` is the effective one.
  public var journalPathSetting = ""
  public var journalTruncateCorrupt = false
  public var startFresh = false
  public var persistentRevisions = false
  public var deletedKeyHistoryMaxAge: Duration = .zero
  public var monitorAddress = "localhost:33970"
  public var prometheus = false
  public var expvar = false
  public var pprof = false
  public var trace = false
  public var tracerName = "keyquarry_server"
  public var serviceName = "keyquarry"
  /// `identity` (off), `gzip` or `deflate`: how gRPC responses are compressed for clients
  /// that accept it, when a message has at least `grpcResponseCompressionMinBytes`.
  public var grpcResponseCompression = "identity"
  public var grpcResponseCompressionMinBytes = 1024
  public var sslCertfile = ""
  public var sslKeyfile = ""
  public var httpAddress = "localhost:33971"
  public var httpEnabled = true
  public var httpCorsOrigins: [String] = []
  /// Host names the gateway answers besides IP addresses, localhost, the machine's name
  /// and the bound host (against DNS rebinding); `*`: any.
  public var httpAllowedHosts: [String] = []
  public var sseHeartbeat: Duration = .seconds(15)
  public var httpIdleTimeout: Duration = .seconds(75)
  public var httpUI = true
  /// Open connections per listener; 0: derived from the descriptor limit.
  public var maxConnections = 0
  /// A connection that has not started by then is closed; zero: never.
  public var handshakeTimeout: Duration = .seconds(10)

  public init() {
    store.maxMemory = MachineMemory.defaultMaxMemory
  }

  /// The journal's directory: `journal.path`, or `keyquarry.journal` beside the SQLite
  /// snapshot database (in the working directory for PostgreSQL).
  public var journalPath: String {
    if !journalPathSetting.isEmpty { return journalPathSetting }
    guard snapshotDatabase.hasPrefix("sqlite://") else { return "keyquarry.journal" }
    let database = URL(fileURLWithPath: String(snapshotDatabase.dropFirst("sqlite://".count)))
    return database.deletingLastPathComponent().appendingPathComponent("keyquarry.journal").path
  }

  /// `http_idle_timeout`; nil when it is zero: idle HTTP connections stay open.
  public var httpIdleTimeoutIfSet: Duration? { httpIdleTimeout == .zero ? nil : httpIdleTimeout }

  /// `handshake_timeout`; nil when it is zero.
  public var handshakeTimeoutIfSet: Duration? { handshakeTimeout == .zero ? nil : handshakeTimeout }

  /// Every option with its effective value, secrets redacted, for the start-up log.
  public var effectiveValues: [(key: String, value: String)] {
    ConfigOption.all.map { ($0.key, $0.show(self)) }
  }

  /// `postgres://user:secret@host/db` → `postgres://user:xxxxx@host/db`.
  public static func redactingPassword(_ url: String) -> String {
    guard var components = URLComponents(string: url), components.password != nil else { return url }
    components.password = "xxxxx"
    return components.string ?? url
  }

  /// `{user}@{host}`, as the original names its snapshots.
  public static var defaultName: String {
    let user = ProcessInfo.processInfo.environment["USER"] ?? NSUserName()
    let host = ProcessInfo.processInfo.hostName
    switch (user.isEmpty, host.isEmpty) {
    case (false, false): return "\(user)@\(host)"
    case (true, false): return host
    default: return user
    }
  }
}

/// Accepted log levels (case-insensitive on input).
public enum LogLevelName {
  public static let info = "INFO"
  public static let all = ["DEBUG", "INFO", "NOTICE", "WARN", "WARNING", "ERROR", "EVENT"]
}
