import Core
import GRPCServer
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import Synchronization

/// The HTTP/1.1 gateway as a Service of the server's group. On graceful shutdown it
/// reports 503 on /healthz, ends the watch streams and lets requests finish.
public final class GatewayEndpoint: Service, Sendable {
  public let address: ListenAddress
  private let gateway: Gateway
  private let tls: TLSFiles?
  private let logger: Logger
  private let bound = Mutex<ListenAddress?>(nil)

  public init(
    address: ListenAddress, tls: TLSFiles?, store: Store, options: GatewayOptions, logger: Logger,
    admin hooks: AdminHooks
  ) throws {
    if case .unix(let path) = address { try UnixSocketFile.prepare(path) }
    self.address = address
    self.tls = tls
    self.logger = logger
    gateway = Gateway(
      store: store, service: KeyQuarryService(store: store),
      admin: AdminService(store: store, hooks: hooks), options: options,
      health: HealthState())
  }

  /// The address actually bound (the real port when 0 was asked for), once listening.
  public var boundAddress: ListenAddress? { bound.withLock { $0 } }

  public func run() async throws {
    let bindAddress: BindAddress =
      switch address {
      case .tcp(let host, let port): .hostname(host == "localhost" ? "127.0.0.1" : host, port: port)
      case .unix(let path): .unixDomainSocket(path: path)
      }
    let server: HTTPServerBuilder =
      if let tls {
        try .tls(
          .http1(),
          tlsConfiguration: .makeServerConfiguration(
            certificateChain: NIOSSLCertificate.fromPEMFile(tls.certificate).map { .certificate($0) },
            privateKey: .privateKey(NIOSSLPrivateKey(file: tls.key, format: .pem))))
      } else {
        .http1()
      }
    let app = Application(
      router: gateway.router(), server: server,
      configuration: .init(address: bindAddress, serverName: "keyquarry"),
      onServerRunning: { [self] channel in
        let local =
          if let ip = channel.localAddress?.ipAddress, let port = channel.localAddress?.port {
            ListenAddress.tcp(host: ip, port: port)
          } else {
            address
          }
        bound.withLock { $0 = local }
        logger.notice("http listening", metadata: ["address": "\(local)"])
      },
      logger: logger)
    defer { if case .unix(let path) = address { UnixSocketFile.remove(path) } }
    try await withGracefulShutdownHandler {
      try await app.run()
    } onGracefulShutdown: {
      self.gateway.health.stopServing()
      self.gateway.store.endWatches()
    }
  }
}
