import Core
import GRPCServer
import Hummingbird
import NIOCore

extension Router {
  /// `/healthz`: 200 until a graceful shutdown starts, then 503.
  /// `/readyz`: 200 only once the server is listening and until a graceful shutdown starts;
  /// with `max_memory`, a second line tells how much of it is in use (writes may be
  /// refused past it, but reads and deletes go on, so the server stays ready); 503 while
  /// the journal cannot be written (changes are not durable).
  public func addHealthRoutes(readiness: Readiness, store: Store) {
    route(.get, "/healthz") { _, _ in
      let state = readiness.state
      return healthResponse(state != .draining, state == .draining ? "shutting down" : "OK")
    }
    route(.get, "/readyz") { _, _ in
      let state = readiness.state
      let memory = store.memoryUse
      let pressure = memory.limit > 0 ? "\nmemory: \(memory.used * 100 / memory.limit)% of max_memory" : ""
      let journalFailing = store.journalFigures?.failing ?? false
      let journal = journalFailing ? "\njournal: cannot be written (changes are not durable)" : ""
      return healthResponse(state == .ready && !journalFailing, "\(state)" + pressure + journal)
    }
  }
}

private func healthResponse(_ healthy: Bool, _ text: String) -> Response {
  Response(
    status: healthy ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8"],
    body: .init(byteBuffer: ByteBuffer(string: text + "\n")))
}
