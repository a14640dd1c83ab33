import Hummingbird
import NIOCore

/// Hummingbird's request context plus the peer address, which names anonymous callers.
struct GatewayContext: RequestContext {
  var coreContext: CoreRequestContextStorage
  /// The caller's IP address, or `local` over a unix socket.
  let peer: String

  init(source: ApplicationRequestContextSource) {
    coreContext = .init(source: source)
    peer = source.channel.remoteAddress?.ipAddress ?? "local"
  }
}
