import AsyncHTTPClient
import Core
import Foundation
import NIOHTTP1
import GRPCServer
import Gateway
import Logging
import NIOCore
import NIOSSL
import Synchronization
import Testing

/// A store served by the real gateway on a loopback port (and the real gRPC endpoint,
/// for cross-protocol tests), with an HTTP client talking to it over real sockets.
struct TestGateway {
  let store: Store
  let base: String
  let grpcPort: Int
  let http: HTTPClient
  let shutdowns: ShutdownCount

  static func with(
    options configure: (inout StoreOptions) -> Void = { _ in },
    gateway: (inout GatewayOptions) -> Void = { _ in },
    address: ListenAddress = .tcp(host: "127.0.0.1", port: 0),
    tls: TLSFiles? = nil,
    _ body: (TestGateway) async throws -> Void
  ) async throws {
    var storeOptions = StoreOptions()
    storeOptions.minLockDuration = .milliseconds(100)
    storeOptions.minLifespan = .milliseconds(100)
    storeOptions.privilegedClientID = "admin"
    configure(&storeOptions)
    var gatewayOptions = GatewayOptions()
    gateway(&gatewayOptions)
    let store = Store(options: storeOptions)
    let shutdowns = ShutdownCount()
    let endpoint = try GatewayEndpoint(
      address: address, tls: tls, store: store, options: gatewayOptions,
      logger: Logger(label: "test"), admin: AdminHooks(requestShutdown: { shutdowns.add() }))
    let grpc = try GRPCEndpoint(
      address: .tcp(host: "127.0.0.1", port: 0), tls: nil, store: store, logger: Logger(label: "test"),
      admin: AdminHooks(requestShutdown: {}), readiness: Readiness())
    var clientConfiguration = HTTPClient.Configuration()
    if let tls {
      var trust = TLSConfiguration.makeClientConfiguration()
      trust.trustRoots = .file(tls.certificate)
      clientConfiguration.tlsConfiguration = trust
    }
    let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await endpoint.run() }
      group.addTask { try await grpc.run() }
      group.addTask { await store.run() }
      var bound: ListenAddress?
      for _ in 0..<500 where bound == nil {
        bound = endpoint.boundAddress
        if bound == nil { try await Task.sleep(for: .milliseconds(10)) }
      }
      guard let bound, case .tcp(_, let grpcPort) = try await grpc.boundAddress() else {
        throw TestFailure("the gateway did not start")
      }
      let base: String =
        switch bound {
        case .tcp(let host, let port): "\(tls == nil ? "http" : "https")://\(host):\(port)"
        case .unix(let path): "http+unix://" + path.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        }
      let gateway = TestGateway(store: store, base: base, grpcPort: grpcPort, http: http, shutdowns: shutdowns)
      do {
        try await body(gateway)
      } catch {
        group.cancelAll()
        try? await http.shutdown()
        throw error
      }
      group.cancelAll()
    }
    try await http.shutdown()
  }

  final class ShutdownCount: Sendable {
    let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
  }

  struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
  }

  /// One request; returns status, headers and the whole body.
  func send(
    _ method: HTTPMethod, _ path: String, body: Data? = nil, headers: [(String, String)] = []
  ) async throws -> Reply {
    var request = HTTPClientRequest(url: base + path)
    request.method = method
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
    let response = try await http.execute(request, timeout: .seconds(10))
    let bytes = try await response.body.collect(upTo: 64 * 1024 * 1024)
    return Reply(status: Int(response.status.code), headers: response.headers, body: Data(bytes.readableBytesView))
  }

  struct Reply {
    let status: Int
    let headers: HTTPHeaders
    let body: Data
    var text: String { String(decoding: body, as: UTF8.self) }
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    func header(_ name: String) -> String? { headers.first(name: name) }
  }
}

extension Data {
  init(_ text: String) { self = Data(text.utf8) }
}
