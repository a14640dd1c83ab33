import Core
import GRPCCore
import KeyquarryProtos
import SwiftProtobuf

/// What the Admin service asks of the server around it.
public struct AdminHooks: Sendable {
  /// Starts the server's graceful shutdown (the same path as SIGTERM).
  public var requestShutdown: @Sendable () -> Void
  /// Takes a snapshot now; nil when snapshots are disabled.
  public var takeSnapshot: (@Sendable () async throws -> SnapshotSummary)?

  public init(
    requestShutdown: @escaping @Sendable () -> Void,
    takeSnapshot: (@Sendable () async throws -> SnapshotSummary)? = nil
  ) {
    self.requestShutdown = requestShutdown
    self.takeSnapshot = takeSnapshot
  }
}

public struct SnapshotSummary: Sendable {
  public let id: Int64
  public let keys: Int
  public let bytes: Int

  public init(id: Int64, keys: Int, bytes: Int) {
    (self.id, self.keys, self.bytes) = (id, keys, bytes)
  }
}

/// The `keyquarry.Admin` service, for the privileged client id only.
public struct AdminService: Keyquarry_Admin.SimpleServiceProtocol {
  let store: Store
  let hooks: AdminHooks

  public init(store: Store, hooks: AdminHooks) {
    self.store = store
    self.hooks = hooks
  }

  public func shutdown(request: Keyquarry_ShutdownRequest, context: ServerContext) async throws
    -> Keyquarry_ShutdownResponse
  {
    try store.requireAdmin(RequestClient.id)
    hooks.requestShutdown()
    return Keyquarry_ShutdownResponse()
  }

  public func prune(request: Keyquarry_PruneRequest, context: ServerContext) async throws
    -> Keyquarry_PruneResponse
  {
    try store.requireAdmin(RequestClient.id)
    let pruned = store.prune(
      to: Int(clamping: request.pruneTo), ignoring: Set(request.ignoreKeys))
    if store.waitsForJournal { try await store.durable() }
    return .with { $0.pruned = UInt64(pruned) }
  }

  public func snapshot(request: Keyquarry_SnapshotRequest, context: ServerContext) async throws
    -> Keyquarry_SnapshotResponse
  {
    try store.requireAdmin(RequestClient.id)
    guard let takeSnapshot = hooks.takeSnapshot else {
      throw RPCError(code: .failedPrecondition, message: "snapshots are not enabled (snapshot.enabled)")
    }
    let summary = try await takeSnapshot()
    return .with {
      $0.id = summary.id
      $0.keys = UInt64(summary.keys)
      $0.bytes = UInt64(summary.bytes)
    }
  }
}
