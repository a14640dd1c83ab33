import Core
import GRPCCore
import KeyquarryProtos
import SwiftProtobuf

/// The `keyquarry.Admin` service, for the privileged client id only.
public struct AdminService: Keyquarry_Admin.SimpleServiceProtocol {
  let store: Store
  /// Starts the server's graceful shutdown (the same path as SIGTERM).
  let requestShutdown: @Sendable () -> Void

  public init(store: Store, requestShutdown: @escaping @Sendable () -> Void) {
    self.store = store
    self.requestShutdown = requestShutdown
  }

  public func shutdown(request: Keyquarry_ShutdownRequest, context: ServerContext) async throws
    -> Keyquarry_ShutdownResponse
  {
    try store.requireAdmin(RequestClient.id)
    requestShutdown()
    return Keyquarry_ShutdownResponse()
  }

  public func prune(request: Keyquarry_PruneRequest, context: ServerContext) async throws
    -> Keyquarry_PruneResponse
  {
    try store.requireAdmin(RequestClient.id)
    let pruned = store.prune(
      to: Int(clamping: request.pruneTo), ignoring: Set(request.ignoreKeys))
    return .with { $0.pruned = UInt64(pruned) }
  }
}
