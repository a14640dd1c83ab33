import ArgumentParser
import Core
import Foundation
import GRPCNIOTransportHTTP2

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

extension Client {
  /// The transport, where it connects (for TLS's errors), and whether it uses TLS.
  func makeTransport() throws -> (HTTP2ClientTransport.Posix, TLSFailure.Target, usingTLS: Bool) {
    let target: any ResolvableTarget
    var host = "localhost"
    var tcpPort: Int?
    switch try ListenAddress(address, defaultPort: 33969) {
    case .unix(let path):
      guard FileManager.default.fileExists(atPath: path) else {
        throw ValidationError("socket file '\(path)' not found")
      }
      target = .unixDomainSocket(path: path)
    case .tcp(let given, let port):
      host = given == "0.0.0.0" ? "127.0.0.1" : given
      tcpPort = port
      // An IP address is a target of its own: TLS then checks the certificate's IP
      // addresses (a name target would send the address as SNI, which TLS forbids).
      if IPAddress.isIPv4(host) {
        target = .ipv4(address: host, port: port)
      } else if host.contains(":") {
        target = .ipv6(address: host, port: port)
      } else {
        target = .dns(host: host, port: port)
      }
    }
    if let caCertfile, !FileManager.default.isReadableFile(atPath: caCertfile) {
      throw ValidationError("cannot read --ca-certfile '\(caCertfile)'")
    }
    let insecure = insecure || ClientDefaults.flag("INSECURE")
    let usingTLS = !(noTLS || ClientDefaults.flag("NO_TLS")) && (caCertfile != nil || insecure)
    let security: HTTP2ClientTransport.Posix.TransportSecurity
    if !usingTLS {
      security = .plaintext
    } else {
      security = .tls { config in
        if insecure {
          config.serverCertificateVerification = .noVerification
        } else if let caCertfile {
          config.trustRoots = .certificates([.file(path: caCertfile, format: .pem)])
        }
      }
    }
    var config = HTTP2ClientTransport.Posix.Config.defaults
    if let tlsServerName {
      guard !IPAddress.isIPv4(tlsServerName), !tlsServerName.contains(":") else {
        throw ValidationError("--tls-server-name takes a DNS name; an IP address is checked when it is the address's host")
      }
      config.http2.authority = tlsServerName
    }
    let transport = try HTTP2ClientTransport.Posix(target: target, transportSecurity: security, config: config)
    return (transport, TLSFailure.Target(host: tlsServerName ?? host, port: tcpPort), usingTLS)
  }
}

enum IPAddress {
  static func isIPv4(_ text: String) -> Bool {
    var address = in_addr()
    return inet_pton(AF_INET, text, &address) == 1
  }
}
