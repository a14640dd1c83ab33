import GRPCCore
import NIOSSL

/// Why a connection's TLS failed, in words, found in the cause chain of the RPC error that
/// gRPC reports (a bare "unavailable" otherwise).
enum TLSFailure {
  /// Where the client connected: the name or address the certificate must carry, and the
  /// port (nil over a unix socket).
  struct Target {
    let host: String
    let port: Int?
  }

  static func explain(_ error: RPCError, target: Target, usingTLS: Bool) async -> String? {
    if !usingTLS {
      // A TLS server closes a plaintext connection at once.
      guard error.code == .unavailable, error.message.contains("HTTP/2 connection preface") else { return nil }
      return error.message + " Does the server use TLS? Then pass --ca-certfile (or --insecure)."
    }
    var cause: (any Error)? = error.cause
    var depth = 0
    while let current = cause, depth < 8 {
      if let reason = await reason(for: current, target: target) { return "TLS failed: " + reason }
      cause = (current as? RPCError)?.cause ?? (current as? RuntimeError)?.cause
      depth += 1
    }
    return nil
  }

  private static func reason(for error: any Error, target: Target) async -> String? {
    switch error {
    case let error as NIOSSLExtraError where error == .failedToValidateHostname:
      return "the server's certificate is not for '\(target.host)' (--tls-server-name names the one it is for)"
    case let error as NIOSSLExtraError:
      return "\(error)"
    case let error as NIOSSLError:
      if case .handshakeFailed(let inner) = error { return await describe(inner, target: target) }
      return "\(error)"
    case let error as BoringSSLError:
      return await describe(error, target: target)
    default:
      return nil
    }
  }

  private static func describe(_ error: BoringSSLError, target: Target) async -> String {
    let text = "\(error)"
    if text.contains("CERTIFICATE_VERIFY_FAILED") {
      return await PeerCertificate.untrustedReason(host: target.host, port: target.port)
    }
    let known: [(String, String)] = [
      ("WRONG_VERSION_NUMBER", "the server did not answer in TLS (does it serve plaintext? try --no-tls)"),
      ("TLSV1_ALERT_UNKNOWN_CA", "the server does not trust this client's certificate"),
    ]
    for (code, words) in known where text.contains(code) { return "\(words) [\(text)]" }
    return text
  }
}
