import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Why a server's certificate was not trusted. TLS's own error does not say, so a second
/// handshake only looks at the certificate: its dates first (expired, not yet valid), and
/// otherwise its issuer is the one not trusted.
enum PeerCertificate {
  static func untrustedReason(host: String, port: Int?) async -> String {
    guard let port, let leaf = try? await leafCertificate(host: host, port: port) else {
      return "the server's certificate is not trusted (unknown CA, expired or not yet valid)"
    }
    let now = time(nil)
    if leaf.notValidAfter < now { return "the server's certificate expired at \(date(leaf.notValidAfter))" }
    if leaf.notValidBefore > now { return "the server's certificate is not valid before \(date(leaf.notValidBefore))" }
    return "the server's certificate is signed by a CA that is not trusted (--ca-certfile names the trusted ones)"
  }

  private static func date(_ time: time_t) -> String {
    Date(timeIntervalSince1970: TimeInterval(time)).formatted(.iso8601)
  }

  /// The server's own certificate, from a handshake that verifies nothing and then fails.
  private static func leafCertificate(host: String, port: Int) async throws -> NIOSSLCertificate {
    let context = try NIOSSLContext(configuration: .makeClientConfiguration())
    let group = MultiThreadedEventLoopGroup.singleton
    let found = group.any().makePromise(of: NIOSSLCertificate.self)
    let channel = try await ClientBootstrap(group: group).connectTimeout(.seconds(5))
      .channelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          let look: NIOSSLCustomVerificationCallback = { certificates, verdict in
            if let leaf = certificates.first { found.succeed(leaf) }
            verdict.succeed(NIOSSLVerificationResult.failed)  // it was only to look
          }
          let handler = try NIOSSLClientHandler(context: context, serverHostname: nil, customVerificationCallback: look)
          try channel.pipeline.syncOperations.addHandler(handler)
        }
      }
      .connect(host: host, port: port).get()
    channel.closeFuture.whenComplete { _ in found.fail(ChannelError.ioOnClosedChannel) }  // ignored once found
    defer { channel.close(mode: .all, promise: nil) }
    return try await found.futureResult.get()
  }
}
