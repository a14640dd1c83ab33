import Core
import GRPCServer
import Gateway
import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle

/// What the monitor server serves besides health (as the original).
public struct MonitorOptions: Sendable {
  public var prometheus = false
  public var expvar = false
  public var pprof = false
  /// nil: idle connections stay open.
  public var idleTimeout: Duration? = HTTPListener.defaultIdleTimeout
  public var connections = ConnectionPolicy()
  /// The build version, shown in /debug/vars.
  public var version = ""

  public init() {}

  /// The monitor server runs when any of its options is on.
  public var enabled: Bool { prometheus || expvar || pprof }
}

/// The monitor HTTP server: `/metrics` (Prometheus text), `/debug/vars` (expvar JSON),
/// `/healthz`, `/readyz`, and 200 `OK` on every other path, as the original answers.
/// Placed first in the service group, it stops last: /readyz shows 503 for the whole shutdown.
public final class MonitorEndpoint: Service, Sendable {
  private let listener: HTTPListener
  private let store: Store
  private let readiness: Readiness
  private let options: MonitorOptions
  private let registry: PrometheusCollectorRegistry?
  private let collector: StoreCollector?
  private let process: ProcessCollector?

  public init(
    address: ListenAddress, tls: TLSFiles?, store: Store, readiness: Readiness,
    registry: PrometheusCollectorRegistry?, options: MonitorOptions, logger: Logger
  ) throws {
    listener = try HTTPListener(
      name: "monitor", address: address, tls: tls, idleTimeout: options.idleTimeout,
      connections: options.connections, logger: logger)
    self.store = store
    self.readiness = readiness
    self.options = options
    self.registry = options.prometheus ? registry : nil
    collector = self.registry.map { StoreCollector(store: store, registry: $0) }
    process = self.registry.map { ProcessCollector(registry: $0) }
    if options.pprof {
      logger.warning("pprof has no Swift equivalent: /debug/pprof/ is not served (use perf or valgrind)")
    }
  }

  /// The address actually bound, once listening.
  public var boundAddress: ListenAddress? { listener.boundAddress }

  public func run() async throws {
    try await listener.run(router())
  }

  private func router() -> Router<BasicRequestContext> {
    let router = Router()
    router.addHealthRoutes(readiness: readiness, store: store)
    if let registry, let collector, let process {
      router.get("/metrics") { _, _ in
        collector.update()
        process.update()
        return Response(
          status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
          body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
      }
    }
    if options.expvar {
      router.get("/debug/vars") { [store, options] _, _ in
        Response(
          status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
          body: .init(byteBuffer: ByteBuffer(bytes: try ExpvarDocument.render(store: store, version: options.version))))
      }
    }
    router.get("/") { _, _ in "OK" }
    router.get("/**") { _, _ in "OK" }
    return router
  }
}
