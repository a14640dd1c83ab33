import NIOHTTP1

/// HTTP/1.1 answers requests in order, so a handler in front of Hummingbird may answer a
/// request itself only while none it passed on is still unanswered. Keeps that rule for
/// `DirectGetHandler` and `DirectEventsHandler`: which request parts go on, which stay.
/// Only HTTP/1.1 requests are taken: the direct answers keep the connection open and
/// stream chunked bodies, which HTTP/1.0 (nginx's default towards upstreams) has not;
/// Hummingbird answers those.
struct InOrderTaking<Taken> {
  enum Step {
    case pass
    case keep
    /// The request's end has arrived: answer it.
    case answer(Taken)
  }

  /// Requests passed on and not answered yet.
  private var passedOn = 0
  /// The request kept here whose end has not arrived.
  private var kept: Taken?

  /// What to do with `part`; `wanted` says whether to take a request (and what to keep of it).
  mutating func read(_ part: HTTPServerRequestPart, wanted: (HTTPRequestHead) -> Taken?) -> Step {
    switch part {
    case .head(let head):
      if passedOn == 0, head.version == .http1_1, let taken = wanted(head) {
        kept = taken
        return .keep
      }
      passedOn += 1
      return .pass
    case .body:
      return kept == nil ? .pass : .keep  // a GET's body means nothing
    case .end:
      guard let taken = kept else { return .pass }
      kept = nil
      return .answer(taken)
    }
  }

  /// Counts the answers to requests passed on as they go out.
  mutating func wrote(_ part: HTTPServerResponsePart) {
    if case .end = part { passedOn -= 1 }
  }
}
