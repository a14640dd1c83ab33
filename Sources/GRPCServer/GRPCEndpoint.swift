import Core
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import KeyquarryProtos
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Certificate and key files for a TLS listener (PEM).
public struct TLSFiles: Sendable, Equatable {
  public var certificate: String
  public var key: String

  public init(certificate: String, key: String) {
    self.certificate = certificate
    self.key = key
  }
}

/// One gRPC listener (TCP or unix socket) serving both services, run as a Service: a
/// graceful shutdown ends the watch streams, then lets in-flight RPCs finish.
public final class GRPCEndpoint: Service, Sendable {
  public let address: ListenAddress
  private let server: GRPCServer<HTTP2ServerTransport.Posix>
  private let store: Store
  private let logger: Logger

  public init(
    address: ListenAddress, tls: TLSFiles?, store: Store, logger: Logger,
    admin hooks: AdminHooks, telemetry: Telemetry = Telemetry()
  ) throws {
    if case .unix(let path) = address { try UnixSocketFile.prepare(path) }
    self.address = address
    self.store = store
    self.logger = logger
    let security: HTTP2ServerTransport.Posix.TransportSecurity =
      if let tls {
        .tls(
          certificateChain: [.file(path: tls.certificate, format: .pem)],
          privateKey: .file(path: tls.key, format: .pem))
      } else {
        .plaintext
      }
    let transport = HTTP2ServerTransport.Posix(
      address: try Self.socketAddress(address),
      transportSecurity: security,
      config: .defaults { config in
        // Values up to max_value_size must fit in one message, with room for the envelope.
        config.rpc.maxRequestPayloadSize = max(
          4 * 1024 * 1024, store.options.maxValueSize + 64 * 1024)
        config.connection.keepalive.time = .seconds(10)
        config.connection.keepalive.timeout = .seconds(60)
      })
    server = GRPCServer(
      transport: transport,
      services: [
        KeyQuarryService(store: store),
        AdminService(store: store, hooks: hooks),
      ],
      interceptors: Self.interceptors(telemetry))
  }

  /// Tracing outermost, so that rejected calls are traced and timed too.
  private static func interceptors(_ telemetry: Telemetry) -> [any ServerInterceptor] {
    var interceptors: [any ServerInterceptor] = []
    if telemetry.tracing { interceptors.append(RPCTracingInterceptor()) }
    if telemetry.metrics {
      interceptors.append(
        RPCMetricsInterceptor(methods: Keyquarry_KeyQuarry.Method.descriptors + Keyquarry_Admin.Method.descriptors))
    }
    return interceptors + [ClientIDInterceptor()]
  }

  /// The bound address (with the real port when 0 was asked for), once listening.
  public func boundAddress() async throws -> ListenAddress {
    let bound = try await server.listeningAddress
    if let ipv4 = bound?.ipv4 { return .tcp(host: ipv4.host, port: ipv4.port) }
    if let ipv6 = bound?.ipv6 { return .tcp(host: ipv6.host, port: ipv6.port) }
    return address
  }

  public func run() async throws {
    defer { if case .unix(let path) = address { UnixSocketFile.remove(path) } }
    try await withGracefulShutdownHandler {
      try await server.serve()
    } onGracefulShutdown: {
      self.store.endWatches()
      self.server.beginGracefulShutdown()
    }
  }

  static func socketAddress(_ address: ListenAddress) throws -> GRPCNIOTransportCore.SocketAddress {
    switch address {
    case .unix(let path):
      return .unixDomainSocket(path: path)
    case .tcp(let host, let port):
      if host == "localhost" { return .ipv4(host: "127.0.0.1", port: port) }
      let resolved = try NIOCore.SocketAddress.makeAddressResolvingHost(host, port: port)
      switch resolved {
      case .v6: return .ipv6(host: resolved.ipAddress ?? host, port: port)
      default: return .ipv4(host: resolved.ipAddress ?? host, port: port)
      }
    }
  }
}
