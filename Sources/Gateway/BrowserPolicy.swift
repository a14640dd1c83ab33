import Foundation
import GRPCCore
import HTTPTypes
import NIOHTTP1

/// What keeps web pages from using a gateway on the developer's machine: a browser
/// sends a cross-site POST (a form, a `fetch` with no custom header) without a CORS
/// preflight, and a DNS-rebinding page reaches `localhost` under its own host name.
///
/// - A request that changes state (any method but GET, HEAD and OPTIONS) from another
///   site is refused with 403: its `Sec-Fetch-Site` is neither `same-origin` nor `none`,
///   or, from a browser that does not send it, its `Origin` is not the gateway's own.
///   Origins in `http_cors_origins` are trusted (`*`: every one). Clients that send
///   neither header (curl, the CLI, gRPC gateways' clients) are not affected.
/// - A `Host` that is not an IP address, `localhost`, the machine's host name, the
///   bound host or one of `http_allowed_hosts` (`*`: any) gets 421, whatever the method:
///   rebinding needs a host name the attacker controls. (On a loopback or unix-socket
///   gateway, or wherever `http_allowed_hosts` is set.)
struct BrowserPolicy: Sendable {
  private let allowedHosts: Set<String>
  private let anyHost: Bool
  private let trustedOrigins: Set<String>
  private let anyOrigin: Bool

  /// `boundHost`: the host of `http_address`, nil for a unix socket. The Host check
  /// guards a gateway bound to the loopback interface (the default), which a rebinding
  /// page reaches from the victim's own browser; one bound to other interfaces is meant
  /// to be reached by names this cannot know (a container's service name), so there it
  /// applies only when `http_allowed_hosts` is set.
  init(allowedHosts: [String], boundHost: String?, corsOrigins: [String]) {
    anyHost = allowedHosts.contains("*") || (allowedHosts.isEmpty && !Self.isLoopback(boundHost))
    let machine = ProcessInfo.processInfo.hostName.lowercased()
    let defaults = ["localhost", machine, String(machine.prefix { $0 != "." })] + (boundHost.map { [$0] } ?? [])
    self.allowedHosts = Set((defaults + allowedHosts).map { $0.lowercased() }.filter { !$0.isEmpty })
    anyOrigin = corsOrigins.contains("*")
    trustedOrigins = Set(corsOrigins.map { $0.lowercased() })
  }

  /// Why `head` is refused, or nil to serve it.
  func refusal(of head: HTTPRequestHead) -> GatewayError? {
    let host = head.headers.first(name: "host")
    if let host, !isAllowed(host: host) {
      return GatewayError(
        code: .permissionDenied,
        message: "host '\(host)' is not served here (http_allowed_hosts lists the host names allowed)",
        status: .misdirectedRequest)
    }
    switch head.method {
    case .GET, .HEAD, .OPTIONS: return nil
    default: break
    }
    let origin = head.headers.first(name: "origin")
    if let origin, anyOrigin || trustedOrigins.contains(origin.lowercased()) { return nil }
    if let site = head.headers.first(name: "sec-fetch-site") {
      guard site == "same-origin" || site == "none" else { return crossSite("Sec-Fetch-Site: \(site)") }
      return nil
    }
    guard let origin else { return nil }  // not a browser
    guard let host, Self.authority(ofOrigin: origin) == host.lowercased() else { return crossSite("Origin: \(origin)") }
    return nil
  }

  private func crossSite(_ evidence: String) -> GatewayError {
    GatewayError(
      code: .permissionDenied,
      message: "a request from another site may not change the store (\(evidence)); list its origin in http_cors_origins to allow it")
  }

  private func isAllowed(host: String) -> Bool {
    if anyHost { return true }
    let name = Self.hostName(host)
    return allowedHosts.contains(name) || name.hasSuffix(".localhost") || Self.isIPAddress(name)
  }

  /// `example.com:8080` → `example.com`; `[::1]:80` → `::1`.
  static func hostName(_ host: String) -> String {
    let lowered = host.lowercased()
    if lowered.hasPrefix("["), let end = lowered.firstIndex(of: "]") {
      return String(lowered[lowered.index(after: lowered.startIndex)..<end])
    }
    return String(lowered.split(separator: ":", maxSplits: 1).first ?? "")
  }

  private static func isLoopback(_ host: String?) -> Bool {
    guard let host else { return true }  // a unix socket: this machine's clients only
    let name = hostName(host.hasPrefix("[") || host.filter({ $0 == ":" }).count < 2 ? host : "[\(host)]")
    var v4 = in_addr()
    if inet_pton(AF_INET, name, &v4) == 1 { return UInt32(bigEndian: v4.s_addr) >> 24 == 127 }
    return name == "localhost" || name == "::1"
  }

  private static func isIPAddress(_ name: String) -> Bool {
    var v4 = in_addr()
    var v6 = in6_addr()
    return inet_pton(AF_INET, name, &v4) == 1 || inet_pton(AF_INET6, name, &v6) == 1
  }

  /// `http://localhost:33971` → `localhost:33971`.
  private static func authority(ofOrigin origin: String) -> String? {
    guard let components = URLComponents(string: origin), let host = components.host else { return nil }
    let name = host.contains(":") ? "[\(host)]" : host
    return (components.port.map { "\(name):\($0)" } ?? name).lowercased()
  }
}
