import Core
import GRPCServer
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import ServiceLifecycle
import Synchronization

/// An HTTP/1.1 server on a TCP address or a unix socket, with TLS when given: the
/// gateway's and the monitor's. Logs "`<name>` listening" with the bound address.
public final class HTTPListener: Sendable {
  /// How long an idle keep-alive connection stays open unless told otherwise: nginx's
  /// default, and `http_idle_timeout`'s in the server's configuration.
  public static let defaultIdleTimeout: Duration = .seconds(75)

  public let address: ListenAddress
  private let name: String
  private let tls: TLSFiles?
  private let idleTimeout: Duration?
  private let connections: ConnectionPolicy
  private let logger: Logger
  private let bound = Mutex<ListenAddress?>(nil)

  /// `idleTimeout`: a keep-alive connection with no request in progress is closed after
  /// this long (nil: never; see `HTTPConnectionGuard`).
  public init(
    name: String, address: ListenAddress, tls: TLSFiles?, idleTimeout: Duration?,
    connections: ConnectionPolicy = ConnectionPolicy(), logger: Logger
  ) throws {
    if case .unix(let path) = address { try UnixSocketFile.prepare(path) }
    self.name = name
    self.address = address
    self.tls = tls
    self.idleTimeout = idleTimeout
    self.connections = connections
    self.logger = logger
  }

  /// The address actually bound (the real port when 0 was asked for), once listening.
  public var boundAddress: ListenAddress? { bound.withLock { $0 } }

  /// The `Server` header of every response.
  static let serverName = "keyquarry"

  /// Serves until a graceful shutdown, which first runs `onGracefulShutdown`.
  /// `frontHandlers` go into each connection's pipeline after NIO's HTTP/1 decoding and
  /// its `HTTPConnectionGuard`, in front of Hummingbird's HTTPTypes codec; the guard
  /// answers the requests `refusal` refuses.
  public func run<Responder: HTTPResponderBuilder>(
    _ responder: Responder,
    refusal: (@Sendable (HTTPRequestHead) -> (any Error)?)? = nil,
    frontHandlers: @escaping @Sendable () -> [any ChannelHandler] = { [] },
    onGracefulShutdown: @escaping @Sendable () -> Void = {}
  ) async throws where Responder.Responder.Context: InitializableFromSource<ApplicationRequestContextSource> {
    let bindAddress: BindAddress =
      switch address {
      case .tcp(let host, let port): .hostname(host == "localhost" ? "127.0.0.1" : host, port: port)
      case .unix(let path): .unixDomainSocket(path: path)
      }
    let http1 = HTTPServerBuilder.http1(
      configuration: .init(
        additionalChannelHandlers: [
          FrontHandlersInstaller(
            [
              HTTPConnectionGuard(
                idleTimeout: self.idleTimeout, handshakeTimeout: self.connections.handshakeTimeout,
                serverName: Self.serverName, refusal: refusal)
            ]
              + frontHandlers())
        ]))
    let server: HTTPServerBuilder =
      if let tls {
        try .tls(
          http1,
          tlsConfiguration: .makeServerConfiguration(
            certificateChain: NIOSSLCertificate.fromPEMFile(tls.certificate).map { .certificate($0) },
            privateKey: .privateKey(NIOSSLPrivateKey(file: tls.key, format: .pem))))
      } else {
        http1
      }
    let app = Application(
      router: responder, server: server,
      configuration: .init(
        address: bindAddress, serverName: Self.serverName,
        availableConnectionsDelegate: connections.limit?.delegate),
      onServerRunning: { [self] channel in
        // One accept per read, so that the connection limit is not overrun by a burst.
        try? await channel.setOption(.maxMessagesPerRead, value: 1).get()  // fails only once closed
        let local =
          if let ip = channel.localAddress?.ipAddress, let port = channel.localAddress?.port {
            ListenAddress.tcp(host: ip, port: port)
          } else {
            address
          }
        bound.withLock { $0 = local }
        logger.notice("\(name) listening", metadata: ["address": "\(local)"])
      },
      logger: logger)
    defer { if case .unix(let path) = address { UnixSocketFile.remove(path) } }
    try await withGracefulShutdownHandler {
      try await app.run()
    } onGracefulShutdown: {
      onGracefulShutdown()
    }
  }
}
