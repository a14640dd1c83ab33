import Core
import Foundation
import GRPCCore
import GRPCServer
import Hummingbird
import KeyquarryProtos
import NIOCore
import Tracing

/// Settings of the HTTP gateway.
public struct GatewayOptions: Sendable {
  public var corsOrigins: [String] = []
  /// Host names served besides the defaults (`BrowserPolicy`); `*`: any.
  public var allowedHosts: [String] = []
  public var sseHeartbeat: Duration = .seconds(15)
  /// nil: idle connections stay open.
  public var idleTimeout: Duration? = HTTPListener.defaultIdleTimeout
  public var connections = ConnectionPolicy()
  public var serveUI = true
  public var telemetry = Telemetry()

  public init() {}
}

/// Maps every REST route onto the very service the gRPC server runs: the same client-id
/// rules, limits, errors and events. Streams are the store's own watches.
struct Gateway: Sendable {
  let store: Store
  let service: KeyQuarryService
  let admin: AdminService
  let options: GatewayOptions
  let readiness: Readiness

  /// Largest JSON body: a base64 value of max_value_size plus room for the other fields.
  var jsonLimit: Int { store.options.maxValueSize * 4 / 3 + 64 * 1024 }

  /// Runs a service method for the request's caller, as the gRPC interceptor would.
  func call<Result: Sendable>(
    _ request: Request, _ context: GatewayContext, _ method: MethodDescriptor,
    _ body: (ServerContext) async throws -> Result
  ) async throws -> Result {
    let client = try request.caller(context)
    let serverContext = ServerContext(
      descriptor: method, remotePeer: "http", localPeer: "gateway", cancellation: .init())
    guard options.telemetry.tracing else {
      return try await RequestClient.serving(as: client) { try await body(serverContext) }
    }
    // A child of the REST request's span: the RPC span the gRPC transport would record.
    let parent = ServiceContext.current ?? .topLevel
    let span = RPCSpan.start(method, client: client, key: try? request.key(context), parent: parent)
    do {
      let result = try await ServiceContext.withValue(span.context) {
        try await RequestClient.serving(as: client) { try await body(serverContext) }
      }
      RPCSpan.end(span, nil)
      return result
    } catch {
      RPCSpan.end(span, rpcCode(of: error))
      throw error
    }
  }

  /// Runs a Set. A value over `max_value_size` is the client's bad input: 413 with the
  /// limit, whether the raw body or the store found it too large.
  func settingValue<Result>(_ body: () async throws -> Result) async throws -> Result {
    do {
      return try await body()
    } catch let error as StoreError where error == .valueTooLarge {
      throw valueTooLarge
    } catch is NIOTooManyBytesError {
      throw valueTooLarge
    }
  }

  private var valueTooLarge: GatewayError {
    GatewayError(
      code: .failedPrecondition, message: "value is larger than max_value_size (\(store.options.maxValueSize) bytes)",
      status: .contentTooLarge)
  }

  func router() -> Router<GatewayContext> {
    let router = Router(context: GatewayContext.self)
    if options.telemetry.tracing { router.add(middleware: TracingMiddleware()) }
    if options.telemetry.metrics { router.add(middleware: MetricsMiddleware()) }
    router.add(middleware: ErrorMiddleware())
    if !options.corsOrigins.isEmpty { router.add(middleware: CORSHeaders(origins: options.corsOrigins)) }
    addKeyRoutes(to: router)
    addServerRoutes(to: router)
    addStreamRoutes(to: router)
    addStaticRoutes(to: router)
    return router
  }
}
