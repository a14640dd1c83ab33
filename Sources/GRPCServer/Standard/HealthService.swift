import GRPCCore
import KeyquarryProtos
import SwiftProtobuf

/// `grpc.health.v1.Health`, for grpc_health_probe, Kubernetes gRPC probes and load
/// balancers: SERVING exactly while `/readyz` answers 200 (the server is listening and
/// not draining), NOT_SERVING while it starts or drains. The whole server ("") and each
/// keyquarry service have that one status.
struct HealthService: Grpc_Health_V1_Health.SimpleServiceProtocol {
  typealias Status = Grpc_Health_V1_HealthCheckResponse.ServingStatus

  static let services: Set<String> = [
    "", Keyquarry_KeyQuarry.descriptor.fullyQualifiedService, Keyquarry_Admin.descriptor.fullyQualifiedService,
  ]

  let readiness: Readiness

  func check(request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext) async throws
    -> Grpc_Health_V1_HealthCheckResponse
  {
    guard Self.services.contains(request.service) else {
      throw RPCError(code: .notFound, message: "unknown service '\(request.service)'")
    }
    return .with { $0.status = Self.status(readiness.state) }
  }

  func list(request: Grpc_Health_V1_HealthListRequest, context: ServerContext) async throws
    -> Grpc_Health_V1_HealthListResponse
  {
    let status = Self.status(readiness.state)
    return .with { response in
      for service in Self.services { response.statuses[service] = .with { $0.status = status } }
    }
  }

  /// The status at once, then each change. A graceful shutdown sends NOT_SERVING and ends
  /// the stream, so that no watcher holds the shutdown up. An unknown service gets
  /// SERVICE_UNKNOWN and the stream stays open, as the protocol says.
  func watch(
    request: Grpc_Health_V1_HealthCheckRequest, response: RPCWriter<Grpc_Health_V1_HealthCheckResponse>,
    context: ServerContext
  ) async throws {
    let known = Self.services.contains(request.service)
    if !known { try await response.write(.with { $0.status = .serviceUnknown }) }
    var sent: Status?
    for await state in readiness.changes() where known {
      let status = Self.status(state)
      if status != sent { try await response.write(.with { $0.status = status }) }
      sent = status
    }
  }

  private static func status(_ state: Readiness.State) -> Status {
    state == .ready ? .serving : .notServing
  }
}
