import Core
import GRPCCore

/// The caller's validated client id, set for the whole RPC by `ClientIDInterceptor`
/// (gRPC) or by the REST gateway through `serving(as:)`.
public enum RequestClient {
  @TaskLocal static var id = ""

  /// Runs service calls on behalf of `client` (already validated with `ClientID.validate`).
  public static func serving<T>(as client: String, _ body: () async throws -> T) async rethrows -> T {
    try await $id.withValue(client, operation: body)
  }
}

/// Checks the `client_id` metadata of every RPC of both services before any handler runs
/// (as the original) and makes it available to the handlers as `RequestClient.id`.
struct ClientIDInterceptor: ServerInterceptor {
  func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws
      -> StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    let client = try ClientID.validate(request.metadata[stringValues: "client_id"].first { _ in true })
    let response = try await RequestClient.$id.withValue(client) {
      try await next(request, context)
    }
    // A streaming handler runs when its response is written: keep the id for it too.
    return response.onCompletion(around: { body in
      try await RequestClient.$id.withValue(client) { try await body() }
    }) { _ in }
  }
}

extension StoreError: RPCErrorConvertible {
  public var rpcErrorCode: RPCError.Code {
    switch code {
    case .invalidArgument: .invalidArgument
    case .failedPrecondition: .failedPrecondition
    case .outOfRange: .outOfRange
    case .notFound: .notFound
    case .permissionDenied: .permissionDenied
    case .resourceExhausted, .outOfMemory: .resourceExhausted
    case .alreadyExists: .alreadyExists
    case .unavailable: .unavailable
    }
  }

  public var rpcErrorMessage: String { message }
}
