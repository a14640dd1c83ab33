import HTTPTypes
import Hummingbird
import HummingbirdCore

extension RouterMethods {
  /// Adds a route that refuses, with 400 and their names, query parameters it does not
  /// understand: a guessed name (`?prefix=` on a clear, `?ttl=` on a set) must fail, not be
  /// ignored into the opposite of what the caller asked. `client_id` is understood
  /// everywhere (the caller, for clients that cannot send headers).
  @discardableResult
  func route(
    _ method: HTTPRequest.Method, _ path: RouterPath, query: Set<String> = [],
    use handler: @Sendable @escaping (Request, Context) async throws -> some ResponseGenerator
  ) -> Self {
    let accepted = query.union(["client_id"])
    return on(path, method: method) { request, context in
      try refuseUnknownQueryParameters(request.uri, accepted: accepted)
      return try await handler(request, context)
    }
  }
}

/// Throws 400 naming every query parameter of `uri` that is not `accepted`.
func refuseUnknownQueryParameters(_ uri: URI, accepted: Set<String>) throws {
  var unknown: [String] = []
  for (name, _) in uri.queryParameters where !name.isEmpty && !accepted.contains(String(name)) {
    let name = String(name)
    if !unknown.contains(name) { unknown.append(name) }
  }
  guard !unknown.isEmpty else { return }
  let names = unknown.map { "\"\($0)\"" }.joined(separator: ", ")
  throw HTTPError(
    .badRequest,
    message: "unknown query parameter\(unknown.count > 1 ? "s" : "") \(names); this route takes: "
      + accepted.sorted().joined(separator: ", "))
}
