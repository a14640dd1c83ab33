import HTTPTypes
import Hummingbird

/// CORS for the configured origins (`http_cors_origins`; `*` allows any): answers
/// preflight requests and marks responses readable by those origins.
struct CORSHeaders: RouterMiddleware {
  typealias Context = GatewayContext
  let origins: [String]

  func handle(_ request: Request, context: GatewayContext, next: (Request, GatewayContext) async throws -> Response)
    async throws -> Response
  {
    guard let origin = request.headers[.origin], origins.contains("*") || origins.contains(origin) else {
      return try await next(request, context)
    }
    var response: Response
    if request.method == .options {
      response = Response(status: .noContent)
      response.headers[.accessControlAllowMethods] = "GET, HEAD, PUT, POST, DELETE, OPTIONS"
      response.headers[.accessControlAllowHeaders] = "Content-Type, Client-Id, Last-Event-ID, If-None-Match"
      response.headers[.accessControlMaxAge] = "600"
    } else {
      response = try await next(request, context)
      response.headers[.accessControlExposeHeaders] =
        "ETag, X-Keyquarry-Version, X-Keyquarry-Hash, X-Keyquarry-Revision-Time"
    }
    response.headers[.accessControlAllowOrigin] = origins.contains("*") ? "*" : origin
    response.headers[.vary] = "Origin"
    return response
  }
}
