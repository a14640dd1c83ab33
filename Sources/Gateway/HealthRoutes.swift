import GRPCServer
import Hummingbird
import NIOCore

extension Router {
  /// `/healthz`: 200 until a graceful shutdown starts, then 503.
  /// `/readyz`: 200 only once the server is listening and until a graceful shutdown starts.
  public func addHealthRoutes(readiness: Readiness) {
    route(.get, "/healthz") { _, _ in
      let state = readiness.state
      return healthResponse(state != .draining, state == .draining ? "shutting down" : "OK")
    }
    route(.get, "/readyz") { _, _ in
      let state = readiness.state
      return healthResponse(state == .ready, "\(state)")
    }
  }
}

private func healthResponse(_ healthy: Bool, _ text: String) -> Response {
  Response(
    status: healthy ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8"],
    body: .init(byteBuffer: ByteBuffer(string: text + "\n")))
}
