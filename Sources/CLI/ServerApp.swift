import Config
import Core
import Foundation
import GRPCServer
import Gateway
import Logging
import Monitoring
import Persistence
import ServiceLifecycle
import UnixSignals

/// `keyquarry serve`: the store, its listeners and their lifecycle in one service group.
/// SIGINT/SIGTERM and Admin.Shutdown start the same graceful shutdown.
struct ServerApp {
  let config: ServerConfig

  func run() async throws {
    let eventLoops = SharedEventLoops.configure(requested: config.eventLoops)
    let logger = makeLogger()
    // Before anything records a metric or a span.
    let registry = config.prometheus ? MetricsBackend.bootstrap() : nil
    let telemetry = Telemetry(metrics: config.prometheus, tracing: config.trace)
    var observability: [ServiceGroupConfiguration.ServiceConfiguration] = []
    if config.trace {
      let exporter = try TracingBackend.bootstrap(serviceName: config.serviceName, version: BuildInfo.version)
      observability.append(.init(service: exporter))
    }
    let journal = try Journal.Mode(rawValue: config.durability).map { mode in
      try Journal(directory: config.journalPath, mode: mode, logger: logger)
    }
    let store = Store(options: config.store, journal: journal)
    let readiness = Readiness()
    let snapshotter = try await prepareSnapshots(store: store, journal: journal, logger: logger)
    let shutdown = ShutdownRequest()
    let tls = config.sslCertfile.isEmpty ? nil : TLSFiles(certificate: config.sslCertfile, key: config.sslKeyfile)
    var hooks = AdminHooks(requestShutdown: shutdown.trigger)
    if let snapshotter {
      hooks.takeSnapshot = { @Sendable in
        let info = try await snapshotter.save()
        return SnapshotSummary(id: info.id, keys: info.keys, bytes: info.bytes)
      }
    }
    var monitorOptions = MonitorOptions()
    monitorOptions.prometheus = config.prometheus
    monitorOptions.expvar = config.expvar
    monitorOptions.pprof = config.pprof
    let budget = DescriptorBudget(listeners: 1 + (config.httpEnabled ? 1 : 0) + (monitorOptions.enabled ? 1 : 0))
    func connections(_ listener: String) -> ConnectionPolicy {
      ConnectionPolicy(
        limit: budget.limit(config.maxConnections, listener: listener, logger: logger),
        handshakeTimeout: config.handshakeTimeoutIfSet)
    }
    let endpoint = try GRPCEndpoint(
      address: ListenAddress(config.listenAddress, defaultPort: 33969), tls: tls, store: store, logger: logger,
      admin: hooks, readiness: readiness, telemetry: telemetry,
      responseCompression: MessageEncoding(rawValue: config.grpcResponseCompression).flatMap {
        ResponseCompression($0, minBytes: config.grpcResponseCompressionMinBytes)
      }, connections: connections("grpc"))
    var listeners: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: endpoint)]
    if config.httpEnabled {
      var options = GatewayOptions()
      options.corsOrigins = config.httpCorsOrigins
      options.allowedHosts = config.httpAllowedHosts
      options.sseHeartbeat = config.sseHeartbeat
      options.idleTimeout = config.httpIdleTimeoutIfSet
      options.connections = connections("http")
      options.serveUI = config.httpUI
      options.telemetry = telemetry
      let gateway = try GatewayEndpoint(
        address: ListenAddress(config.httpAddress, defaultPort: 33971), tls: tls, store: store, options: options,
        logger: logger, admin: hooks, readiness: readiness)
      listeners.append(.init(service: gateway))
    }
    var metadata: Logger.Metadata = ["address": "\(config.listenAddress)", "event_loop_threads": "\(eventLoops)"]
    for (key, value) in config.effectiveValues { metadata["config.\(key)"] = "\(value)" }
    logger.info("starting server", metadata: metadata)
    if config.sslCertfile.isEmpty {
      logger.warning("TLS is not configured: gRPC traffic is not encrypted")
    }
    monitorOptions.idleTimeout = config.httpIdleTimeoutIfSet
    monitorOptions.version = BuildInfo.version
    if monitorOptions.enabled {
      monitorOptions.connections = connections("monitor")
      // First in the group, so last to stop: /readyz answers 503 through the whole shutdown.
      let monitor = try MonitorEndpoint(
        address: ListenAddress(config.monitorAddress, defaultPort: 33970), tls: tls, store: store,
        readiness: readiness, registry: registry, options: monitorOptions, logger: logger)
      observability.append(.init(service: monitor))
    }

    var services = observability + [.init(service: StoreService(store: store))]
    if let journal {
      // Before the snapshots: stopped after the last one, which cuts it.
      services.append(.init(service: JournalService(journal: journal)))
    }
    if let snapshotter {
      // Before the listeners: shut down after them, so the last snapshot is final.
      services.append(.init(service: SnapshotService(snapshotter: snapshotter, interval: config.store.snapshotInterval)))
    }
    if config.logEvents || config.logLevel == "EVENT" {
      let eventLog = EventLog(store: store, logger: Logger(label: KeyquarryLogHandler.eventLabel))
      services.append(.init(service: eventLog))
    }
    let group = ServiceGroup(
      configuration: ServiceGroupConfiguration(
        services: services + listeners + [
          .init(
            service: ReadinessService(
              endpoint: endpoint, readiness: readiness, shutdownDelay: config.shutdownDelay, logger: logger)),
          .init(service: shutdown, successTerminationBehavior: .gracefullyShutdownGroup),
        ],
        gracefulShutdownSignals: [.sigterm, .sigint],
        cancellationSignals: [],
        logger: logger
      ).withShutdownTimeout(config.gracefulShutdownTimeout))
    try await group.run()
    // The final hook: everything has stopped; snapshots will be written here.
    let stats = store.stats()
    logger.info(
      "server stopped",
      metadata: ["keys": "\(stats.keys)", "locks": "\(stats.currentLocks)", "clients": "\(stats.clientIDs)"])
  }

  /// Opens the snapshot database and restores the newest snapshot and the journal after
  /// it (unless start_fresh); starts the journal.
  private func prepareSnapshots(store: Store, journal: Journal?, logger: Logger) async throws -> Snapshotter? {
    guard config.store.snapshotEnabled else {
      logger.warning("snapshots are disabled: the store is lost when the server stops")
      return nil
    }
    let database = try SnapshotDatabases.open(config.snapshotDatabase, connectTimeout: config.postgresConnectTimeout)
    try await database.prepare()
    try await database.claim(.server)
    let snapshotter = Snapshotter(
      store: store, database: database, name: config.name, writerVersion: BuildInfo.version, logger: logger,
      journal: journal)
    var restored: SnapshotInfo?
    if config.startFresh {
      logger.notice("start_fresh: not restoring a snapshot")
    } else {
      restored = try await snapshotter.restore()
      if restored == nil { logger.notice("no snapshot to restore", metadata: ["name": "\(config.name)"]) }
    }
    if let journal {
      try replay(journal, after: restored, into: store, logger: logger)
      journal.start { [store] in store.lastEventSequence }
      // A fresh start is saved at once: otherwise a crash before the first snapshot would
      // restore the older snapshot, whose cut would then skip the new journal.
      if config.startFresh { try await snapshotter.save() }
    } else if Journal.hasSegments(in: config.journalPath) {
      logger.warning(
        """
        a journal from a run with durability everysec or always is not replayed with durability: snapshot: \
        its changes since that run's last snapshot are not restored; remove it before turning durability on again
        """,
        metadata: ["path": "\(config.journalPath)"])
    }
    return snapshotter
  }

  private func replay(_ journal: Journal, after snapshot: SnapshotInfo?, into store: Store, logger: Logger) throws {
    guard !config.startFresh else {
      try journal.discard()
      return logger.notice("start_fresh: the journal is emptied", metadata: ["path": "\(journal.directory)"])
    }
    let replayed = try journal.replay(
      into: store, after: snapshot?.journalSegment ?? 0, truncateCorrupt: config.journalTruncateCorrupt)
    logger.notice(
      "journal replayed",
      metadata: [
        "path": "\(journal.directory)", "durability": "\(journal.mode.rawValue)", "segments": "\(replayed.segments)",
        "records": "\(replayed.records)", "bytes": "\(replayed.bytes)", "seconds": "\(replayed.seconds)",
        "keys": "\(store.stats().keys)",
      ])
  }

  private func makeLogger() -> Logger {
    let level: Logger.Level =
      switch config.logLevel {
      case "DEBUG": .debug
      case "NOTICE", "EVENT": .notice
      case "WARN", "WARNING": .warning
      case "ERROR": .error
      default: .info
      }
    let json = config.logJSON
    LoggingSystem.bootstrap { label in
      // The event log prints whatever the level, as the original's.
      KeyquarryLogHandler(label: label, json: json, logLevel: label == KeyquarryLogHandler.eventLabel ? .trace : level)
    }
    return Logger(label: "keyquarry")
  }
}

extension ServiceGroupConfiguration {
  fileprivate func withShutdownTimeout(_ timeout: Duration) -> Self {
    var copy = self
    if timeout > .zero { copy.maximumGracefulShutdownDuration = timeout }
    return copy
  }
}

/// Runs the store's background work (expiry, pruning) until the group shuts down.
struct StoreService: Service {
  let store: Store

  func run() async throws {
    await cancelWhenGracefulShutdown { await store.run() }
  }
}

/// Logs the gRPC address once bound (tests read it to find port 0's port) and marks the
/// server ready. Last in the group, it is the first to hear of a graceful shutdown: it
/// marks the server draining and holds the listeners open for `shutdownDelay`.
struct ReadinessService: Service {
  let endpoint: GRPCEndpoint
  let readiness: Readiness
  let shutdownDelay: Duration
  let logger: Logger

  func run() async throws {
    // A failed bind is the endpoint's error to report: nothing is logged as listening.
    if let address = try? await endpoint.boundAddress() {
      logger.notice("grpc listening", metadata: ["address": "\(address)"])
      readiness.markReady()
    }
    try? await gracefulShutdown()  // throws only when the group is cancelled
    readiness.markDraining()
    if shutdownDelay > .zero, !Task.isCancelled {
      logger.notice("draining before shutdown", metadata: ["seconds": "\(shutdownDelay)"])
      try? await Task.sleep(for: shutdownDelay)
    }
  }
}

/// Admin.Shutdown: finishing this service makes the group shut down gracefully.
final class ShutdownRequest: Service, Sendable {
  private let signal = AsyncStream.makeStream(of: Void.self)

  var trigger: @Sendable () -> Void {
    { [signal = self.signal] in signal.continuation.yield() }
  }

  func run() async throws {
    await cancelWhenGracefulShutdown {
      for await _ in self.signal.stream { return }
    }
  }
}

/// Stops the journal's flusher, after the last snapshot, once everything is on disk.
struct JournalService: Service {
  let journal: Journal

  func run() async throws {
    try? await gracefulShutdown()
    await withCheckedContinuation { continuation in
      Thread {
        journal.stop()
        continuation.resume()
      }.start()
    }
  }
}

/// Snapshots every `interval` (when set) and once more when the server stops.
struct SnapshotService: Service {
  let snapshotter: Snapshotter
  let interval: Duration

  func run() async throws {
    if interval > .zero {
      await cancelWhenGracefulShutdown { await snapshotter.runPeriodically(every: interval) }
    } else {
      try? await gracefulShutdown()
    }
    // The final snapshot; a failure is logged and counted, and shutdown goes on.
    _ = try? await snapshotter.save()
    try? await snapshotter.database.close()
  }
}
