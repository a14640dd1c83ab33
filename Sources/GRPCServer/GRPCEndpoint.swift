import Core
import Foundation
import GRPCCore
import NIOSSL
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

/// One gRPC listener (TCP or unix socket) serving both keyquarry services, health and
/// reflection, run as a Service: a graceful shutdown ends the watch streams, then lets
/// in-flight RPCs finish.
public final class GRPCEndpoint: Service, Sendable {
  public let address: ListenAddress
  private let transport: GRPCTransport
  private let server: GRPCServer<GRPCTransport>
  private let store: Store
  private let logger: Logger

  public init(
    address: ListenAddress, tls: TLSFiles?, store: Store, logger: Logger,
    admin hooks: AdminHooks, readiness: Readiness, telemetry: Telemetry = Telemetry(),
    responseCompression: ResponseCompression? = nil, connections: ConnectionPolicy = ConnectionPolicy()
  ) throws {
    if case .unix(let path) = address { try UnixSocketFile.prepare(path) }
    self.address = address
    self.store = store
    self.logger = logger
    let service = KeyQuarryService(store: store)
    let metrics =
      telemetry.metrics
      ? RPCMetrics(methods: Keyquarry_KeyQuarry.Method.descriptors + Keyquarry_Admin.Method.descriptors) : nil
    transport = GRPCTransport(
      target: try Self.target(address), tls: try tls.map(Self.tlsContext),
      // A traced call needs the tracing interceptor, so with tracing on every call goes
      // through GRPCServer.
      direct: telemetry.tracing ? [:] : service.directRoutes(metrics: metrics),
      // Values up to max_value_size must fit in one message, with room for the envelope.
      maxRequestPayload: max(4 * 1024 * 1024, store.options.maxValueSize + 64 * 1024),
      responseCompression: responseCompression, policy: connections)
    server = GRPCServer(
      transport: transport,
      services: [
        service, AdminService(store: store, hooks: hooks), HealthService(readiness: readiness),
        ReflectionService(), ReflectionAlphaService(),
      ],
      interceptorPipeline: Self.interceptors(telemetry, metrics: metrics))
  }

  /// Tracing outermost, so that rejected calls are traced and timed too. Health checks and
  /// reflection need no client id: probes and tools do not send one.
  private static func interceptors(
    _ telemetry: Telemetry, metrics: RPCMetrics?
  ) -> [ConditionalInterceptor<any ServerInterceptor>] {
    let keyquarry = ConditionalInterceptor<any ServerInterceptor>.Subject.services([
      Keyquarry_KeyQuarry.descriptor, Keyquarry_Admin.descriptor,
    ])
    var interceptors: [ConditionalInterceptor<any ServerInterceptor>] = []
    if telemetry.tracing { interceptors.append(.apply(RPCTracingInterceptor(), to: .all)) }
    if let metrics { interceptors.append(.apply(RPCMetricsInterceptor(metrics: metrics), to: keyquarry)) }
    return interceptors + [.apply(ClientIDInterceptor(), to: keyquarry)]
  }

  private static func tlsContext(_ files: TLSFiles) throws -> NIOSSLContext {
    var configuration = TLSConfiguration.makeServerConfiguration(
      certificateChain: try NIOSSLCertificate.fromPEMFile(files.certificate).map { .certificate($0) },
      privateKey: .privateKey(try NIOSSLPrivateKey(file: files.key, format: .pem)))
    configuration.applicationProtocols = ["grpc-exp", "h2"]
    return try NIOSSLContext(configuration: configuration)
  }

  /// The bound address (with the real port when 0 was asked for), once listening; throws
  /// the bind's error when listening failed.
  public func boundAddress() async throws -> ListenAddress {
    guard let bound = try await transport.listeningAddress, let port = bound.port else { return address }
    return .tcp(host: bound.ipAddress ?? "127.0.0.1", port: port)
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

  static func target(_ address: ListenAddress) throws -> GRPCTransport.Target {
    switch address {
    case .unix(let path):
      return .unix(path)
    case .tcp(let host, let port):
      let host = host == "localhost" ? "127.0.0.1" : host
      return .tcp(try SocketAddress.makeAddressResolvingHost(host, port: port))
    }
  }
}
