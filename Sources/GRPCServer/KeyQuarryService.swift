import Core
import Foundation
import GRPCCore
import KeyquarryProtos
import NIOPosix
import SwiftProtobuf

/// The `keyquarry.KeyQuarry` service: maps each RPC onto the store. Transport-free: the
/// gRPC server, its event-loop fast path (`DirectMethods`) and the REST gateway all serve
/// this one implementation. Every unary call is synchronous — one store call that never
/// waits — and names its caller's validated client id.
public struct KeyQuarryService: Sendable {
  let store: Store

  public init(store: Store) { self.store = store }

  func set(_ request: Keyquarry_KeyValue, by client: String) throws -> Keyquarry_SetResponse {
    let isNew = try store.set(
      request.key, value: request.value, contentType: request.contentType,
      lockDuration: request.hasLockDuration ? Duration(request.lockDuration) : nil,
      lifespan: request.hasLifespan ? Duration(request.lifespan) : nil, by: client)
    return .with {
      $0.success = true
      $0.isNew = isNew
    }
  }

  func get(_ request: Keyquarry_Key, by client: String) throws -> Keyquarry_GetResponse {
    let value = try store.get(request.key, by: client)
    return .with { $0.value = value }
  }

  public func inspect(_ request: Keyquarry_InspectRequest, by client: String) throws -> Keyquarry_InspectResponse {
    Keyquarry_InspectResponse(
      try store.inspect(
        request.key, includeValue: request.includeValue, includeMetrics: request.includeMetrics,
        by: client))
  }

  func delete(_ request: Keyquarry_DeleteRequest, by client: String) throws -> Keyquarry_DeleteResponse {
    try store.delete(request.key, by: client)
    return .with { $0.deleted = true }
  }

  func exists(_ request: Keyquarry_Key, by client: String) -> Keyquarry_ExistsResponse {
    .with { $0.exists = store.exists(request.key) }
  }

  func pop(_ request: Keyquarry_PopRequest, by client: String) throws -> Keyquarry_GetResponse {
    let value = try store.pop(request.key, by: client)
    return .with { $0.value = value }
  }

  func clear(_ request: Keyquarry_ClearRequest, by client: String) throws -> Keyquarry_ClearResponse {
    let deleted = try store.clear(force: request.force, by: client)
    return .with {
      $0.success = true
      $0.keysDeleted = UInt64(deleted)
    }
  }

  /// Visits every key, which over millions takes long: it runs on NIO's blocking-work
  /// threads, so that it holds no thread of Swift's small cooperative pool, where every
  /// forwarded call and REST request waits its turn.
  func listKeys(_ request: Keyquarry_ListKeysRequest) async throws -> Keyquarry_ListKeysResponse {
    let keys = try await NIOThreadPool.singleton.runIfActive { [store] in
      try store.listKeys(
        pattern: request.pattern, limit: Int(clamping: request.limit), includeReserved: request.includeReserved)
    }
    return .with { $0.keys = keys }
  }

  func stats() -> Keyquarry_ServerMetrics {
    Keyquarry_ServerMetrics(store.stats())
  }

  func clearHistory() throws -> Keyquarry_ClearHistoryResponse {
    let (keys, cleared) = try store.clearHistory()
    return .with {
      $0.keys = Int64(keys)
      $0.cleared = Int64(cleared)
    }
  }

  func lock(_ request: Keyquarry_LockRequest, by client: String) throws -> Keyquarry_LockResponse {
    try store.lock(
      request.key, duration: request.hasDuration ? Duration(request.duration) : nil,
      createIfMissing: request.createIfMissing, by: client)
    return .with { $0.success = true }
  }

  func unlock(_ request: Keyquarry_UnlockRequest, by client: String) throws -> Keyquarry_UnlockResponse {
    try store.unlock(request.key, by: client)
    return .with { $0.success = true }
  }

  func getRevision(_ request: Keyquarry_GetRevisionRequest, by client: String) throws
    -> Keyquarry_RevisionResponse
  {
    let revision = try store.revision(request.key, version: request.version, by: client)
    return .with {
      $0.value = revision.value
      $0.timestamp = .init(revision.recorded)
    }
  }

  func register(by client: String) throws -> Keyquarry_RegisterResponse {
    try store.register(client)
    return .with {
      $0.success = true
      $0.clientID = client
    }
  }

  func setReadOnly(_ request: Keyquarry_ReadOnlyRequest, by client: String) throws -> Keyquarry_ReadOnlyResponse {
    try store.setReadOnly(request.enable, by: client)
    return .with { $0.success = true }
  }

  func getKeyMetric(_ request: Keyquarry_KeyMetricRequest) throws -> Keyquarry_KeyMetric {
    Keyquarry_KeyMetric(try store.keyMetric(request.key))
  }

  func watchStream(_ request: Keyquarry_WatchRequest, response: RPCWriter<Keyquarry_Event>) async throws {
    let subscription = try store.watch(Self.filter(request))
    defer { subscription.finish() }
    // A watch that sees no events would not notice its client leave until the next one.
    try await withRPCCancellationHandler {
      for await event in subscription.events {
        try await response.write(Keyquarry_Event(event))
      }
    } onCancelRPC: {
      subscription.finish()
    }
    try Self.checkNotSlow(subscription)
  }

  func watchKeyValue(
    _ request: Keyquarry_WatchKeyValueRequest, response: RPCWriter<Keyquarry_WatchKeyValueResponse>,
    by client: String
  ) async throws {
    let watch = try store.watchValue(request.key, by: client)
    defer { watch.subscription.finish() }
    try await withRPCCancellationHandler {
      for await update in watch {
        try await response.write(Keyquarry_WatchKeyValueResponse(update))
      }
    } onCancelRPC: {
      watch.subscription.finish()
    }
    try Self.checkNotSlow(watch.subscription)
  }

  /// WatchStream with its events pushed into `sink` (the transport's direct watch).
  func watchStream(_ request: Keyquarry_WatchRequest, into sink: some EventSink) throws -> PushSubscription {
    try store.watch(Self.filter(request), into: sink)
  }

  private static func filter(_ request: Keyquarry_WatchRequest) -> EventFilter {
    EventFilter(
      keys: Set(request.keys),
      kinds: Set(request.events.compactMap { KeyEvent(rawValue: $0.rawValue) }),
      clientIDs: Set(request.clientIds))
  }

  private static func checkNotSlow(_ subscription: Subscription) throws {
    if subscription.endedBecauseSlow { throw slowWatcher }
  }

  static let slowWatcher = RPCError(
    code: .resourceExhausted, message: "watcher too slow: what waited for it passed the watch buffer limits (README, Limits)")
}
