/// Where a server listens or a client connects: `host:port`, `:port` (all interfaces),
/// `host` (default port), `tcp://host:port`, `[::1]:port` or `unix:///absolute/path`.
public enum ListenAddress: Equatable, Sendable, CustomStringConvertible {
  case tcp(host: String, port: Int)
  case unix(path: String)

  public struct ParseError: Error, CustomStringConvertible {
    public let description: String
  }

  public init(_ text: String, defaultPort: Int) throws(ParseError) {
    if text.hasPrefix("unix://") {
      let path = String(text.dropFirst("unix://".count))
      guard path.hasPrefix("/") else {
        throw ParseError(description: "unix socket path must be absolute: '\(text)'")
      }
      self = .unix(path: path)
      return
    }
    var rest = Substring(text)
    if rest.hasPrefix("tcp://") { rest = rest.dropFirst("tcp://".count) }
    var host: Substring
    var port: Substring?
    if rest.hasPrefix("[") {
      guard let close = rest.firstIndex(of: "]") else {
        throw ParseError(description: "unclosed '[' in address '\(text)'")
      }
      host = rest[rest.index(after: rest.startIndex)..<close]
      let after = rest[rest.index(after: close)...]
      if !after.isEmpty {
        guard after.hasPrefix(":") else { throw ParseError(description: "bad address '\(text)'") }
        port = after.dropFirst()
      }
    } else if let colon = rest.lastIndex(of: ":") {
      host = rest[..<colon]
      port = rest[rest.index(after: colon)...]
    } else {
      host = rest
    }
    var portNumber = defaultPort
    if let port {
      guard let number = Int(port), (0...65535).contains(number) else {
        throw ParseError(description: "bad port in address '\(text)'")
      }
      portNumber = number
    }
    if host.isEmpty { host = "0.0.0.0" }
    self = .tcp(host: String(host), port: portNumber)
  }

  public var description: String {
    switch self {
    case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    case .unix(let path): "unix://\(path)"
    }
  }
}
