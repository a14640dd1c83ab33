import Core
import Hummingbird
import HummingbirdCore

/// What a `GET /v1/events` asks for, read the same way by the route and by
/// `DirectEventsHandler`: the filter (`keys`, `events`, `client_ids`, each repeated or
/// comma separated), where to resume (`Last-Event-ID` header or `last_event_id` query),
/// and NDJSON instead of SSE (`Accept`). A given client id must be valid, as for any call.
struct EventsRequest {
  let filter: EventFilter
  let lastEventID: UInt64?
  let ndjson: Bool

  static let queryParameters: Set<String> = ["keys", "events", "client_ids", "last_event_id", "client_id"]

  /// `header` looks a request header up by name.
  init(uri: URI, header: (String) -> String?, peer: @autoclosure () -> String) throws {
    try refuseUnknownQueryParameters(uri, accepted: Self.queryParameters)
    let query = uri.queryParameters
    func list(_ name: String) -> [String] {
      query.getAll(name).flatMap { $0.split(separator: ",").map(String.init) }
    }
    _ = try gatewayCaller(given: header("Client-Id") ?? query.get("client_id"), peer: peer())
    let kinds = try list("events").map { name in
      guard let kind = KeyEvent.allCases.first(where: { $0.name == name.uppercased() || "\($0.rawValue)" == name }) else {
        throw GatewayError.invalid("unknown event type '\(name)'")
      }
      return kind
    }
    filter = EventFilter(keys: Set(list("keys")), kinds: Set(kinds), clientIDs: Set(list("client_ids")))
    if let text = header("Last-Event-ID") ?? query.get("last_event_id"), !text.isEmpty {
      guard let id = UInt64(text) else { throw GatewayError.invalid("invalid Last-Event-ID '\(text)'") }
      lastEventID = id
    } else {
      lastEventID = nil
    }
    ndjson = Self.wantsNDJSON(accept: header("Accept"))
  }

  static func wantsNDJSON(accept: String?) -> Bool { accept?.contains("application/x-ndjson") == true }
}
