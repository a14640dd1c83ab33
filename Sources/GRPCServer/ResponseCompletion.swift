import GRPCCore

extension StreamingServerResponse {
  /// Calls `done` once the RPC is over: when its response (the one message of a unary
  /// RPC, or the whole stream) has been written, or with the error code that ended it.
  /// `around` wraps the writing, e.g. to keep a task-local value for it.
  func onCompletion(
    around: @escaping @Sendable (() async throws -> Metadata) async throws -> Metadata = { try await $0() },
    _ done: @escaping @Sendable (RPCError.Code?) -> Void
  ) -> Self {
    guard case .success(var contents) = accepted else {
      if case .failure(let error) = accepted { done(error.code) }
      return self
    }
    let producer = contents.producer
    contents.producer = { writer in
      do {
        let trailers = try await around { try await producer(writer) }
        done(nil)
        return trailers
      } catch {
        done(rpcCode(of: error))
        throw error
      }
    }
    var copy = self
    copy.accepted = .success(contents)
    return copy
  }
}

/// The status an error becomes on the wire.
public func rpcCode(of error: any Error) -> RPCError.Code {
  switch error {
  case let error as RPCError: error.code
  case let error as any RPCErrorConvertible: error.rpcErrorCode
  default: .unknown
  }
}

extension RPCError.Code {
  /// "OK", "NotFound", …: the names gRPC's own metrics use.
  static func label(_ code: RPCError.Code?) -> String {
    guard let code else { return "OK" }
    let name = code.description
    return name.prefix(1).uppercased() + name.dropFirst()
  }
}
