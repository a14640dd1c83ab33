import Core
import Foundation
import GRPCCore
import KeyquarryProtos
import SwiftProtobuf

/// The `keyquarry.KeyQuarry` service: maps each RPC onto the store. Transport-free, so
/// the REST gateway serves the very same implementation.
public struct KeyQuarryService: Keyquarry_KeyQuarry.SimpleServiceProtocol {
  let store: Store

  public init(store: Store) { self.store = store }

  private var client: String { RequestClient.id }

  public func set(request: Keyquarry_KeyValue, context: ServerContext) async throws
    -> Keyquarry_SetResponse
  {
    let isNew = try store.set(
      request.key, value: request.value, contentType: request.contentType,
      lockDuration: request.hasLockDuration ? Duration(request.lockDuration) : nil,
      lifespan: request.hasLifespan ? Duration(request.lifespan) : nil, by: client)
    return .with {
      $0.success = true
      $0.isNew = isNew
    }
  }

  public func get(request: Keyquarry_Key, context: ServerContext) async throws
    -> Keyquarry_GetResponse
  {
    let value = try store.get(request.key, by: client)
    return .with { $0.value = value }
  }

  public func inspect(request: Keyquarry_InspectRequest, context: ServerContext) async throws
    -> Keyquarry_InspectResponse
  {
    Keyquarry_InspectResponse(
      try store.inspect(
        request.key, includeValue: request.includeValue, includeMetrics: request.includeMetrics,
        by: client))
  }

  public func delete(request: Keyquarry_DeleteRequest, context: ServerContext) async throws
    -> Keyquarry_DeleteResponse
  {
    try store.delete(request.key, by: client)
    return .with { $0.deleted = true }
  }

  public func exists(request: Keyquarry_Key, context: ServerContext) async throws
    -> Keyquarry_ExistsResponse
  {
    .with { $0.exists = store.exists(request.key) }
  }

  public func pop(request: Keyquarry_PopRequest, context: ServerContext) async throws
    -> Keyquarry_GetResponse
  {
    let value = try store.pop(request.key, by: client)
    return .with { $0.value = value }
  }

  public func clear(request: Keyquarry_ClearRequest, context: ServerContext) async throws
    -> Keyquarry_ClearResponse
  {
    let deleted = try store.clear(force: request.force, by: client)
    return .with {
      $0.success = true
      $0.keysDeleted = UInt64(deleted)
    }
  }

  public func listKeys(request: Keyquarry_ListKeysRequest, context: ServerContext) async throws
    -> Keyquarry_ListKeysResponse
  {
    let keys = try store.listKeys(
      pattern: request.pattern, limit: Int(clamping: request.limit),
      includeReserved: request.includeReserved)
    return .with { $0.keys = keys }
  }

  public func stats(request: Keyquarry_EmptyRequest, context: ServerContext) async throws
    -> Keyquarry_ServerMetrics
  {
    Keyquarry_ServerMetrics(store.stats())
  }

  public func clearHistory(request: Keyquarry_EmptyRequest, context: ServerContext) async throws
    -> Keyquarry_ClearHistoryResponse
  {
    let (keys, cleared) = try store.clearHistory()
    return .with {
      $0.keys = Int64(keys)
      $0.cleared = Int64(cleared)
    }
  }

  public func lock(request: Keyquarry_LockRequest, context: ServerContext) async throws
    -> Keyquarry_LockResponse
  {
    try store.lock(
      request.key, duration: request.hasDuration ? Duration(request.duration) : nil,
      createIfMissing: request.createIfMissing, by: client)
    return .with { $0.success = true }
  }

  public func unlock(request: Keyquarry_UnlockRequest, context: ServerContext) async throws
    -> Keyquarry_UnlockResponse
  {
    try store.unlock(request.key, by: client)
    return .with { $0.success = true }
  }

  public func getRevision(request: Keyquarry_GetRevisionRequest, context: ServerContext)
    async throws -> Keyquarry_RevisionResponse
  {
    let revision = try store.revision(request.key, version: request.version, by: client)
    return .with {
      $0.value = revision.value
      $0.timestamp = .init(revision.recorded)
    }
  }

  public func register(request: Keyquarry_RegisterRequest, context: ServerContext) async throws
    -> Keyquarry_RegisterResponse
  {
    try store.register(client)
    return .with {
      $0.success = true
      $0.clientID = client
    }
  }

  public func setReadOnly(request: Keyquarry_ReadOnlyRequest, context: ServerContext)
    async throws -> Keyquarry_ReadOnlyResponse
  {
    try store.setReadOnly(request.enable, by: client)
    return .with { $0.success = true }
  }

  public func watchStream(
    request: Keyquarry_WatchRequest, response: RPCWriter<Keyquarry_Event>, context: ServerContext
  ) async throws {
    let filter = EventFilter(
      keys: Set(request.keys),
      kinds: Set(request.events.compactMap { KeyEvent(rawValue: $0.rawValue) }),
      clientIDs: Set(request.clientIds))
    let subscription = try store.watch(filter)
    defer { subscription.finish() }
    for await event in subscription.events {
      try await response.write(Keyquarry_Event(event))
    }
    try Self.checkNotSlow(subscription)
  }

  public func getKeyMetric(request: Keyquarry_KeyMetricRequest, context: ServerContext)
    async throws -> Keyquarry_KeyMetric
  {
    Keyquarry_KeyMetric(try store.keyMetric(request.key))
  }

  public func watchKeyValue(
    request: Keyquarry_WatchKeyValueRequest, response: RPCWriter<Keyquarry_WatchKeyValueResponse>,
    context: ServerContext
  ) async throws {
    let watch = try store.watchValue(request.key, by: client)
    defer { watch.subscription.finish() }
    for await update in watch {
      try await response.write(Keyquarry_WatchKeyValueResponse(update))
    }
    try Self.checkNotSlow(watch.subscription)
  }

  private static func checkNotSlow(_ subscription: Subscription) throws {
    if subscription.endedBecauseSlow {
      throw RPCError(
        code: .resourceExhausted,
        message: "watcher too slow: its event buffer stayed full past event_stream_send_timeout")
    }
  }
}
