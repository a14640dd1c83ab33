import ArgumentParser
import Config
import Foundation

struct Serve: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run the keyquarry server.",
    discussion: """
      Options come from these flags, then KEYQUARRY_* environment variables, then a YAML
      file (--config, or keyquarry.yaml in ~/.config/keyquarry or the current directory),
      then the defaults. Example:
        keyquarry serve --listen unix:///tmp/keyquarry.sock
      """)

  @Option(help: "YAML configuration file.")
  var config: String?

  @Option(help: "gRPC address: host:port, :port (all interfaces) or unix:///path (default localhost:33969).")
  var listen: String?

  @Option(help: "Name under which snapshots are saved (default {user}@{host}).")
  var name: String?

  @Option(name: .customLong("ssl-certfile"), help: "TLS certificate (PEM).")
  var sslCertfile: String?

  @Option(name: .customLong("ssl-keyfile"), help: "TLS private key (PEM).")
  var sslKeyfile: String?

  @Option(
    name: .customLong("monitor-address"),
    help: "Address of the monitor server (/metrics, /debug/vars, /healthz, /readyz) (default localhost:33970).")
  var monitorAddress: String?

  @Option(name: .customLong("http-address"), help: "Address of the REST gateway.")
  var httpAddress: String?

  @Option(
    name: .customLong("event-loops"),
    help: "Event-loop threads serving the listeners (default 0: one per CPU this process may run on).")
  var eventLoops: String?

  @Option(name: .customLong("snapshot-interval"), help: "Take a snapshot this often (e.g. 5m).")
  var snapshotInterval: String?

  @Option(name: .customLong("log-level"), help: "DEBUG, INFO, NOTICE, WARNING or ERROR (default INFO).")
  var logLevel: String?

  @Flag(name: .customLong("log-json"), inversion: .prefixedNo, help: "Log one JSON object per line.")
  var logJSON: Bool?

  @Flag(inversion: .prefixedNo, help: "Serve Prometheus metrics on the monitor address.")
  var prometheus: Bool?

  @Flag(inversion: .prefixedNo, help: "Serve expvar-style JSON on the monitor address.")
  var expvar: Bool?

  @Flag(inversion: .prefixedNo, help: "Accepted for compatibility: Go's pprof has no Swift equivalent.")
  var pprof: Bool?

  @Flag(inversion: .prefixedNo, help: "Export OpenTelemetry traces (OTLP; see OTEL_EXPORTER_OTLP_ENDPOINT).")
  var trace: Bool?

  @Flag(name: .customLong("fresh"), inversion: .prefixedNo, help: "Do not load the latest snapshot.")
  var startFresh: Bool?

  @Flag(inversion: .prefixedNo, help: "Start in read-only mode.")
  var readonly: Bool?

  /// The flags the user gave, keyed by option name, for ConfigLoader.
  var givenFlags: [String: String] {
    let values: [(String, String?)] = [
      ("listen_address", listen), ("name", name), ("ssl_certfile", sslCertfile),
      ("ssl_keyfile", sslKeyfile), ("monitor_address", monitorAddress),
      ("http_address", httpAddress), ("event_loops", eventLoops), ("snapshot.interval", snapshotInterval),
      ("log_level", logLevel), ("log_json", logJSON.map(String.init)),
      ("prometheus", prometheus.map(String.init)), ("expvar", expvar.map(String.init)),
      ("pprof", pprof.map(String.init)), ("trace", trace.map(String.init)),
      ("start_fresh", startFresh.map(String.init)), ("readonly", readonly.map(String.init)),
    ]
    return Dictionary(uniqueKeysWithValues: values.compactMap { key, value in value.map { (key, $0) } })
  }

  func run() async throws {
    let serverConfig: ServerConfig
    do {
      serverConfig = try await ConfigLoader.load(
        flags: givenFlags, environment: ProcessInfo.processInfo.environment, configFile: config)
    } catch {
      printError("keyquarry: \(error)")
      throw ExitCode(2)
    }
    do {
      try await ServerApp(config: serverConfig).run()
    } catch {
      printError("keyquarry: \(error)")
      throw ExitCode(1)
    }
  }
}
