import Config
import Core
import Foundation
import GRPCServer
import Logging
import ServiceLifecycle
import UnixSignals

/// `keyquarry serve`: the store, its listeners and their lifecycle in one service group.
/// SIGINT/SIGTERM and Admin.Shutdown start the same graceful shutdown.
struct ServerApp {
  let config: ServerConfig

  func run() async throws {
    let logger = makeLogger()
    let store = Store(options: config.store)
    let shutdown = ShutdownRequest()
    let endpoint = try GRPCEndpoint(
      address: ListenAddress(config.listenAddress, defaultPort: 33969),
      tls: config.sslCertfile.isEmpty
        ? nil : TLSFiles(certificate: config.sslCertfile, key: config.sslKeyfile),
      store: store, logger: logger, requestShutdown: shutdown.trigger)
    logger.info("starting server", metadata: startupMetadata())
    if config.sslCertfile.isEmpty {
      logger.warning("TLS is not configured: gRPC traffic is not encrypted")
    }

    let group = ServiceGroup(
      configuration: ServiceGroupConfiguration(
        services: [
          .init(service: StoreService(store: store)),
          .init(service: endpoint),
          .init(service: ListenerAnnouncer(endpoint: endpoint, logger: logger)),
          .init(service: shutdown, successTerminationBehavior: .gracefullyShutdownGroup),
        ],
        gracefulShutdownSignals: [.sigterm, .sigint],
        cancellationSignals: [],
        logger: logger
      ).withShutdownTimeout(config.gracefulShutdownTimeout))
    try await group.run()
    logger.info("server stopped", metadata: ["stats": "\(store.stats().keys) keys"])
  }

  private func makeLogger() -> Logger {
    let level: Logger.Level =
      switch config.logLevel {
      case "DEBUG": .debug
      case "NOTICE": .notice
      case "WARN", "WARNING": .warning
      case "ERROR": .error
      default: .info
      }
    LoggingSystem.bootstrap { label in
      var handler = StreamLogHandler.standardOutput(label: label)
      handler.logLevel = level
      return handler
    }
    return Logger(label: "keyquarry")
  }

  private func startupMetadata() -> Logger.Metadata {
    let store = config.store
    return [
      "address": "\(config.listenAddress)",
      "config.name": "\(config.name)",
      "config.ssl-certfile": "\(config.sslCertfile)",
      "config.ssl-keyfile": "\(config.sslKeyfile)",
      "config.max_keys": "\(store.maxKeys)",
      "config.max_value_size": "\(store.maxValueSize)",
      "config.max_key_length": "\(store.maxKeyLength)",
      "config.revision_limit": "\(store.revisionLimit)",
      "config.min_lock_duration": "\(DurationParser.format(store.minLockDuration))",
      "config.max_lock_duration": "\(DurationParser.format(store.maxLockDuration))",
      "config.min_lifespan": "\(DurationParser.format(store.minLifespan))",
      "config.readonly": "\(store.readOnly)",
    ]
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

/// Logs the bound address once the listener is up (tests read it to find port 0's port).
struct ListenerAnnouncer: Service {
  let endpoint: GRPCEndpoint
  let logger: Logger

  func run() async throws {
    try await cancelWhenGracefulShutdown {
      let address = try await endpoint.boundAddress()
      logger.info("grpc listening", metadata: ["address": "\(address)"])
      try await gracefulShutdown()
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
