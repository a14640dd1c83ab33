import Core
import GRPCServer
import Logging
import ServiceLifecycle

/// The HTTP/1.1 gateway as a Service of the server's group. On graceful shutdown it
/// reports 503 on /healthz, ends the watch streams and lets requests finish.
public final class GatewayEndpoint: Service, Sendable {
  private let listener: HTTPListener
  private let gateway: Gateway

  public init(
    address: ListenAddress, tls: TLSFiles?, store: Store, options: GatewayOptions, logger: Logger,
    admin hooks: AdminHooks, readiness: Readiness = Readiness()
  ) throws {
    listener = try HTTPListener(
      name: "http", address: address, tls: tls, idleTimeout: options.idleTimeout,
      connections: options.connections, logger: logger)
    gateway = Gateway(
      store: store, service: KeyQuarryService(store: store),
      admin: AdminService(store: store, hooks: hooks), options: options,
      readiness: readiness)
  }

  public var address: ListenAddress { listener.address }

  /// The address actually bound (the real port when 0 was asked for), once listening.
  public var boundAddress: ListenAddress? { listener.boundAddress }

  public func run() async throws {
    let (service, store, heartbeat) = (gateway.service, gateway.store, gateway.options.sseHeartbeat)
    let direct = gateway.options.corsOrigins.isEmpty && gateway.options.telemetry == Telemetry()
    let boundHost: String? = if case .tcp(let host, _) = listener.address { host } else { nil }
    let policy = BrowserPolicy(
      allowedHosts: gateway.options.allowedHosts, boundHost: boundHost, corsOrigins: gateway.options.corsOrigins)
    try await listener.run(
      gateway.router(),
      refusal: { policy.refusal(of: $0) },
      frontHandlers: {
        guard direct else { return [] }
        let serverName = HTTPListener.serverName
        return [
          DirectEventsHandler(store: store, heartbeat: heartbeat, serverName: serverName),
          DirectGetHandler(service: service, serverName: serverName),
        ]
      }
    ) {
      self.gateway.readiness.markDraining()
      self.gateway.store.endWatches()
    }
  }
}
