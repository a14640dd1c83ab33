import Core
import Foundation
import GRPCCore
import GRPCServer
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1

/// Every failure leaves as `{"code": <gRPC code>, "message": "…", "details": []}` with the
/// HTTP status grpc-gateway uses for that code.
struct GatewayError: Error {
  let code: RPCError.Code
  let message: String
  /// Overrides the status the code maps to (413 for an oversize body).
  var status: HTTPResponse.Status?

  static func invalid(_ message: String) -> GatewayError {
    GatewayError(code: .invalidArgument, message: message)
  }

  var httpStatus: HTTPResponse.Status {
    if let status { return status }
    switch code {
    case .invalidArgument, .outOfRange: return .badRequest
    case .unauthenticated: return .unauthorized
    case .permissionDenied: return .forbidden
    case .notFound: return .notFound
    case .alreadyExists, .aborted: return .conflict
    case .failedPrecondition: return .preconditionFailed
    case .resourceExhausted: return .tooManyRequests
    case .cancelled: return .init(code: 499, reasonPhrase: "Client Closed Request")
    case .unimplemented: return .notImplemented
    case .unavailable: return .serviceUnavailable
    case .deadlineExceeded: return .gatewayTimeout
    default: return .internalServerError
    }
  }

  init(code: RPCError.Code, message: String, status: HTTPResponse.Status? = nil) {
    self.code = code
    self.message = message
    self.status = status
  }

  /// Any error a handler can meet, as the gateway reports it.
  init(_ error: any Error) {
    switch error {
    case let error as GatewayError: self = error
    case let error as StoreError:
      self.init(
        code: error.rpcErrorCode, message: error.message,
        status: error.code == .outOfMemory ? .init(code: 507, reasonPhrase: "Insufficient Storage") : nil)
    case let error as RPCError: self.init(code: error.code, message: error.message)
    case is NIOTooManyBytesError:
      self.init(code: .failedPrecondition, message: "request body is larger than the maximum", status: .contentTooLarge)
    case HTTPParserError.headerOverflow:
      // NIO counts the request line with the header fields, so a long URI lands here too.
      self.init(
        code: .invalidArgument, message: "the request line and header fields are larger than 80 KiB",
        status: .requestHeaderFieldsTooLarge)
    case let error as HTTPParserError:
      self.init(code: .invalidArgument, message: "malformed HTTP request: \(error)")
    case let error as HTTPError:
      let code: RPCError.Code = error.status == .notFound ? .notFound : .invalidArgument
      self.init(code: code, message: error.body ?? error.status.reasonPhrase, status: error.status)
    default: self.init(code: .internalError, message: "\(error)")
    }
  }

  var reply: Reply {
    let escaped = String(decoding: try! JSONEncoder().encode(message), as: UTF8.self)
    let body = "{\"code\":\(code.rawValue),\"message\":\(escaped),\"details\":[]}"
    return Reply(status: httpStatus, headers: [.contentType: "application/json"], body: ByteBuffer(string: body))
  }
}

/// Turns every thrown error into the JSON error body; a client never sees a bare 500.
struct ErrorMiddleware: RouterMiddleware {
  typealias Context = GatewayContext

  func handle(_ request: Request, context: GatewayContext, next: (Request, GatewayContext) async throws -> Response)
    async throws -> Response
  {
    do {
      return try await next(request, context)
    } catch {
      return GatewayError(error).reply.response
    }
  }
}
