import Core
import Foundation
import GRPCCore
import GRPCServer
import Hummingbird
import KeyquarryProtos
import Synchronization

/// Settings of the HTTP gateway (gateway.md).
public struct GatewayOptions: Sendable {
  public var corsOrigins: [String] = []
  public var sseHeartbeat: Duration = .seconds(15)
  public var serveUI = true

  public init() {}
}

/// Maps every REST route onto the very service the gRPC server runs: the same client-id
/// rules, limits, errors and events. Streams are the store's own watches.
struct Gateway: Sendable {
  let store: Store
  let service: KeyQuarryService
  let admin: AdminService
  let options: GatewayOptions
  let health: HealthState

  /// Largest JSON body: a base64 value of max_value_size plus room for the other fields.
  var jsonLimit: Int { store.options.maxValueSize * 4 / 3 + 64 * 1024 }

  /// Runs a service method for the request's caller, as the gRPC interceptor would.
  func call<Result: Sendable>(
    _ request: Request, _ context: GatewayContext, _ method: MethodDescriptor,
    _ body: (ServerContext) async throws -> Result
  ) async throws -> Result {
    let client = try request.caller(context)
    let serverContext = ServerContext(
      descriptor: method, remotePeer: "http:\(context.peer)", localPeer: "gateway", cancellation: .init())
    return try await RequestClient.serving(as: client) { try await body(serverContext) }
  }

  func router() -> Router<GatewayContext> {
    let router = Router(context: GatewayContext.self)
    router.add(middleware: ErrorMiddleware())
    if !options.corsOrigins.isEmpty { router.add(middleware: CORSHeaders(origins: options.corsOrigins)) }
    addKeyRoutes(to: router)
    addServerRoutes(to: router)
    addStreamRoutes(to: router)
    addStaticRoutes(to: router)
    return router
  }
}

/// Serving until a graceful shutdown starts; /healthz reports 503 from then on.
final class HealthState: Sendable {
  private let serving = Mutex(true)
  var isServing: Bool { serving.withLock { $0 } }
  func stopServing() { serving.withLock { $0 = false } }
}
