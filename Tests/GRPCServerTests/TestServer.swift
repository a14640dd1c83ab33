import Core
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCServer
import KeyquarryProtos
import Logging
import Synchronization
import Testing

/// A real server on a loopback port (or a unix socket) and a generated client talking to
/// it over the real wire. Every call names its client id, as a separate process would.
struct TestServer {
  let store: Store
  let grpc: GRPCClient<HTTP2ClientTransport.Posix>
  let shutdownRequests: ShutdownCounter

  var keyquarry: Keyquarry_KeyQuarry.Client<HTTP2ClientTransport.Posix> { .init(wrapping: grpc) }
  var admin: Keyquarry_Admin.Client<HTTP2ClientTransport.Posix> { .init(wrapping: grpc) }

  static func id(_ client: String?) -> Metadata {
    guard let client else { return [:] }
    return ["client_id": .string(client)]
  }

  /// Starts a server with `options` on `address`, runs `body`, stops everything.
  static func with(
    options: StoreOptions = TestServer.fastOptions, address: ListenAddress = .tcp(host: "127.0.0.1", port: 0),
    tls: TLSFiles? = nil,
    clientSecurity: HTTP2ClientTransport.Posix.TransportSecurity = .plaintext,
    _ body: (TestServer) async throws -> Void
  ) async throws {
    let store = Store(options: options)
    let counter = ShutdownCounter()
    let readiness = Readiness()
    let endpoint = try GRPCEndpoint(
      address: address, tls: tls, store: store, logger: Logger(label: "test"),
      admin: AdminHooks(requestShutdown: { counter.increment() }), readiness: readiness)
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await endpoint.run() }
      group.addTask { await store.run() }
      let bound = try await endpoint.boundAddress()
      let target: any ResolvableTarget =
        switch bound {
        case .tcp(let host, let port): .ipv4(address: host, port: port)
        case .unix(let path): .unixDomainSocket(path: path)
        }
      let transport = try HTTP2ClientTransport.Posix(target: target, transportSecurity: clientSecurity)
      try await withGRPCClient(transport: transport) { grpc in
        try await body(TestServer(store: store, grpc: grpc, shutdownRequests: counter))
      }
      group.cancelAll()
    }
  }

  /// Short limits so expiry tests take milliseconds of real time.
  static var fastOptions: StoreOptions {
    var options = StoreOptions()
    options.minLifespan = .milliseconds(100)
    options.minLockDuration = .milliseconds(100)
    options.privilegedClientID = "admin"
    return options
  }
}

final class ShutdownCounter: Sendable {
  private let count = Mutex(0)
  func increment() { count.withLock { $0 += 1 } }
  var value: Int { count.withLock { $0 } }
}

/// Expects an RPC to fail with `code` (and a message containing `message`).
func expectRPCError(
  _ code: RPCError.Code, containing message: String? = nil,
  sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void
) async {
  do {
    try await body()
    Issue.record("expected \(code), got success", sourceLocation: sourceLocation)
  } catch let error as RPCError {
    #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    if let message {
      #expect(error.message.lowercased().contains(message.lowercased()), "\(error)", sourceLocation: sourceLocation)
    }
  } catch {
    Issue.record("expected RPCError \(code), got \(error)", sourceLocation: sourceLocation)
  }
}

extension Data {
  init(_ text: String) { self = Data(text.utf8) }
}
