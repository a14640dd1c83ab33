import Core
import GRPCCore
import KeyquarryProtos

/// The generated service protocol, for GRPCServer and the REST gateway: each method runs
/// the synchronous call as the client `ClientIDInterceptor` (or the gateway) validated.
extension KeyQuarryService: Keyquarry_KeyQuarry.SimpleServiceProtocol {
  private var client: String { RequestClient.id }

  /// A write's response, once the write is on disk under `durability: always` (without
  /// it, no suspension: the check is synchronous).
  private func answeredWhenDurable<Response>(_ response: @autoclosure () throws -> Response) async throws -> Response {
    let answer = try response()
    if store.waitsForJournal { try await store.durable() }
    return answer
  }

  public func set(request: Keyquarry_KeyValue, context: ServerContext) async throws -> Keyquarry_SetResponse {
    try await answeredWhenDurable(set(request, by: client))
  }

  public func get(request: Keyquarry_Key, context: ServerContext) async throws -> Keyquarry_GetResponse {
    try get(request, by: client)
  }

  public func inspect(request: Keyquarry_InspectRequest, context: ServerContext) async throws
    -> Keyquarry_InspectResponse
  {
    try inspect(request, by: client)
  }

  public func delete(request: Keyquarry_DeleteRequest, context: ServerContext) async throws
    -> Keyquarry_DeleteResponse
  {
    try await answeredWhenDurable(delete(request, by: client))
  }

  public func exists(request: Keyquarry_Key, context: ServerContext) async throws -> Keyquarry_ExistsResponse {
    exists(request, by: client)
  }

  public func pop(request: Keyquarry_PopRequest, context: ServerContext) async throws -> Keyquarry_GetResponse {
    try await answeredWhenDurable(pop(request, by: client))
  }

  public func clear(request: Keyquarry_ClearRequest, context: ServerContext) async throws
    -> Keyquarry_ClearResponse
  {
    try await answeredWhenDurable(clear(request, by: client))
  }

  public func listKeys(request: Keyquarry_ListKeysRequest, context: ServerContext) async throws
    -> Keyquarry_ListKeysResponse
  {
    try await listKeys(request)
  }

  public func stats(request: Keyquarry_EmptyRequest, context: ServerContext) async throws
    -> Keyquarry_ServerMetrics
  {
    stats()
  }

  public func clearHistory(request: Keyquarry_EmptyRequest, context: ServerContext) async throws
    -> Keyquarry_ClearHistoryResponse
  {
    try await answeredWhenDurable(clearHistory())
  }

  public func lock(request: Keyquarry_LockRequest, context: ServerContext) async throws -> Keyquarry_LockResponse {
    try await answeredWhenDurable(lock(request, by: client))
  }

  public func unlock(request: Keyquarry_UnlockRequest, context: ServerContext) async throws
    -> Keyquarry_UnlockResponse
  {
    try await answeredWhenDurable(unlock(request, by: client))
  }

  public func getRevision(request: Keyquarry_GetRevisionRequest, context: ServerContext) async throws
    -> Keyquarry_RevisionResponse
  {
    try getRevision(request, by: client)
  }

  public func register(request: Keyquarry_RegisterRequest, context: ServerContext) async throws
    -> Keyquarry_RegisterResponse
  {
    try await answeredWhenDurable(register(by: client))
  }

  public func setReadOnly(request: Keyquarry_ReadOnlyRequest, context: ServerContext) async throws
    -> Keyquarry_ReadOnlyResponse
  {
    try await answeredWhenDurable(setReadOnly(request, by: client))
  }

  public func watchStream(
    request: Keyquarry_WatchRequest, response: RPCWriter<Keyquarry_Event>, context: ServerContext
  ) async throws {
    try await watchStream(request, response: response)
  }

  public func getKeyMetric(request: Keyquarry_KeyMetricRequest, context: ServerContext) async throws
    -> Keyquarry_KeyMetric
  {
    try getKeyMetric(request)
  }

  public func watchKeyValue(
    request: Keyquarry_WatchKeyValueRequest, response: RPCWriter<Keyquarry_WatchKeyValueResponse>,
    context: ServerContext
  ) async throws {
    try await watchKeyValue(request, response: response, by: client)
  }
}
