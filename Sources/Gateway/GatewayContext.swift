import Hummingbird
import NIOCore

/// Hummingbird's request context plus the peer address, which names anonymous callers.
struct GatewayContext: RequestContext {
  var coreContext: CoreRequestContextStorage
  private let remoteAddress: SocketAddress?

  init(source: ApplicationRequestContextSource) {
    coreContext = .init(source: source)
    remoteAddress = source.channel.remoteAddress
  }

  /// The caller's IP address, or `local` over a unix socket. Made on demand: most
  /// requests name their client and never need it.
  var peer: String { remoteAddress?.ipAddress ?? "local" }
}
