import GRPCCore
import NIOSSL

/// Why a connection's TLS failed, in words, found in the cause chain of the RPC error that
/// gRPC reports (a bare "unavailable" otherwise).
enum TLSFailure {
  /// `host`: the name or address the certificate must carry.
  static func explain(_ error: RPCError, host: String, usingTLS: Bool) -> String? {
    if !usingTLS {
      // A TLS server closes a plaintext connection at once.
      guard error.code == .unavailable, error.message.contains("HTTP/2 connection preface") else { return nil }
      return error.message + " Does the server use TLS? Then pass --ca-certfile (or --insecure)."
    }
    var cause: (any Error)? = error.cause
    var depth = 0
    while let current = cause, depth < 8 {
      if let reason = reason(for: current, host: host) { return "TLS failed: " + reason }
      cause = (current as? RPCError)?.cause ?? (current as? RuntimeError)?.cause
      depth += 1
    }
    return nil
  }

  private static func reason(for error: any Error, host: String) -> String? {
    switch error {
    case let error as NIOSSLExtraError where error == .failedToValidateHostname:
      return "the server's certificate is not for '\(host)' (--tls-server-name names the one it is for)"
    case let error as NIOSSLExtraError:
      return "\(error)"
    case let error as NIOSSLError:
      return describe(error)
    case let error as BoringSSLError:
      return describe(error)
    default:
      return nil
    }
  }

  private static func describe(_ error: NIOSSLError) -> String {
    if case .handshakeFailed(let inner) = error { return describe(inner) }
    return "\(error)"
  }

  private static func describe(_ error: BoringSSLError) -> String {
    let text = "\(error)"
    let known: [(String, String)] = [
      ("CERTIFICATE_VERIFY_FAILED", "the server's certificate is not trusted (unknown CA, expired or not yet valid)"),
      ("WRONG_VERSION_NUMBER", "the server did not answer in TLS (does it serve plaintext? try --no-tls)"),
      ("TLSV1_ALERT_UNKNOWN_CA", "the server does not trust this client's certificate"),
    ]
    for (code, words) in known where text.contains(code) { return "\(words) [\(text)]" }
    return text
  }
}
