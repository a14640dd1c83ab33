import Core
import GRPCCore
import HummingbirdCore
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// keyquarry's gRPC server transport: its own HTTP/2 on SwiftNIO's sockets, with one
/// handler per connection and nothing per call (grpc-swift's own transport makes a child
/// channel, an async channel and a task for every RPC, which costs ten times the store
/// call). Direct methods are answered on the event loop; GRPCServer runs the others
/// through `listen`.
final class GRPCTransport: ServerTransport, Sendable {
  typealias Bytes = PrefixedMessage

  enum Target: Sendable {
    case tcp(SocketAddress)
    case unix(String)
  }

  private let target: Target
  private let tls: NIOSSLContext?
  private let direct: [String: DirectRoute]
  private let maxRequestPayload: Int
  private let responseCompression: ResponseCompression?
  private let policy: ConnectionPolicy
  private let connections = ConnectionSet()
  private let serverChannel = Mutex<(channel: (any Channel)?, shuttingDown: Bool)>((nil, false))
  private let bound: EventLoopPromise<SocketAddress?>

  init(
    target: Target, tls: NIOSSLContext?, direct: [String: DirectRoute], maxRequestPayload: Int,
    responseCompression: ResponseCompression?, policy: ConnectionPolicy
  ) {
    self.target = target
    self.tls = tls
    self.direct = direct
    self.maxRequestPayload = maxRequestPayload
    self.responseCompression = responseCompression
    self.policy = policy
    bound = MultiThreadedEventLoopGroup.singleton.any().makePromise()
  }

  deinit {
    bound.succeed(nil)  // a transport that never listened (NIO ignores a second completion)
  }

  /// The bound address once listening; the bind's error when it failed.
  var listeningAddress: SocketAddress? {
    get async throws { try await bound.futureResult.get() }
  }

  func listen(
    streamHandler: @escaping @Sendable (RPCStream<Inbound, Outbound>, ServerContext) async -> Void
  ) async throws {
    let (rpcs, accepted) = AsyncStream.makeStream(of: ForwardedRPC.Accepted.self)
    let settings = ConnectionSettings(
      direct: direct, maxRequestPayload: maxRequestPayload, responseCompression: responseCompression,
      http2: Self.http2, handshakeTimeout: policy.handshakeTimeout.map { .nanoseconds(Int64($0.nanoseconds)) },
      accept: { accepted.yield($0) })
    let channel: any Channel
    do {
      channel = try await bind(settings)
    } catch {
      bound.fail(error)
      throw error
    }
    bound.succeed(channel.localAddress)
    if serverChannel.withLock({ state in
      state.channel = channel
      return state.shuttingDown
    }) {
      channel.close(promise: nil)
    }
    let connections = connections
    await withTaskCancellationHandler {
      await withDiscardingTaskGroup { group in
        group.addTask {
          try? await channel.closeFuture.get()
          await connections.waitUntilEmpty()
          accepted.finish()
        }
        for await rpc in rpcs {
          group.addTask {
            await withServerContextRPCCancellationHandle { handle in
              var context = rpc.context
              context.cancellation = handle
              rpc.cancellation.attach(handle)
              await streamHandler(rpc.stream, context)
            }
          }
        }
      }
    } onCancel: {
      channel.close(promise: nil)
      connections.closeAll()
    }
  }

  /// Stops accepting connections and lets each open one finish its calls (GOAWAY).
  func beginGracefulShutdown() {
    let channel = serverChannel.withLock { state in
      state.shuttingDown = true
      return state.channel
    }
    channel?.close(promise: nil)
    connections.quiesce()
  }

  private func bind(_ settings: ConnectionSettings) async throws -> any Channel {
    var bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .serverChannelOption(.backlog, value: 256)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      // One accept per read, so that a connection limit is not overrun by a burst.
      .serverChannelOption(.maxMessagesPerRead, value: 1)
      .serverChannelInitializer { [policy] channel in
        channel.eventLoop.makeCompletedFuture {
          if let limit = policy.limit {
            try channel.pipeline.syncOperations.addHandler(AvailableConnectionsChannelHandler(delegate: limit.delegate))
          }
        }
      }
      .childChannelInitializer { [connections, tls] channel in
        channel.eventLoop.makeCompletedFuture {
          try Self.configure(channel, tls: tls, settings: settings)
          connections.add(channel)  // after configuring, so that a quiesce event finds the handler
        }
      }
    switch target {
    case .tcp(let address):
      bootstrap = bootstrap.childChannelOption(.socketOption(.tcp_nodelay), value: 1)
      return try await bootstrap.bind(to: address).get()
    case .unix(let path):
      return try await bootstrap.bind(unixDomainSocketPath: path).get()
    }
  }

  /// HTTP/2 as every connection serves it.
  static let http2 = HTTP2Session.Configuration(
    targetWindow: 4 << 20,
    // Concurrent calls per connection, watches included: a client that multiplexes its
    // watches on one connection needs more than the 100 usual elsewhere.
    maxConcurrentStreams: 4096,
    // A call's request metadata, as NIO's and grpc-go's clients default to: a larger one
    // fails that call with RESOURCE_EXHAUSTED (its connection goes on).
    maxHeaderListSize: 16 << 10,
    // Stopping a watch or giving up on a call past its deadline is a reset: 1,000 a
    // second are allowed (NIO's default, 200 in 30 s, cut ordinary clients off); a flood
    // of resets ("rapid reset") closes the connection with ENHANCE_YOUR_CALM.
    resetLimit: (1_000, .seconds(1)),
    // grpc-go and grpc-java ping once per response they read, to size their windows. A
    // client's next ping waits for the ack, so none sends 1,000 within 20 ms (50,000 a
    // second, more calls than the server answers); a flood does.
    controlFrameLimit: (1_000, .milliseconds(20)))

  private static func configure(_ channel: any Channel, tls: NIOSSLContext?, settings: ConnectionSettings) throws {
    let pipeline = channel.pipeline.syncOperations
    if let tls { try pipeline.addHandler(NIOSSLServerHandler(context: tls)) }
    try pipeline.addHandler(GRPCConnectionHandler(settings: settings))
  }
}

/// The open connections of one listener, to quiesce or close them all.
private final class ConnectionSet: Sendable {
  private struct State {
    var channels: [ObjectIdentifier: any Channel] = [:]
    var quiescing = false
    var waiters: [CheckedContinuation<Void, Never>] = []
  }
  private let state = Mutex(State())

  func add(_ channel: any Channel) {
    let quiescing = state.withLock { state in
      state.channels[ObjectIdentifier(channel)] = channel
      return state.quiescing
    }
    channel.closeFuture.whenComplete { _ in self.remove(channel) }
    if quiescing { channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
  }

  private func remove(_ channel: any Channel) {
    let waiters = state.withLock { state in
      state.channels[ObjectIdentifier(channel)] = nil
      guard state.channels.isEmpty else { return [CheckedContinuation<Void, Never>]() }
      defer { state.waiters = [] }
      return state.waiters
    }
    for waiter in waiters { waiter.resume() }
  }

  func quiesce() {
    let channels = state.withLock { state in
      state.quiescing = true
      return Array(state.channels.values)
    }
    for channel in channels { channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
  }

  func closeAll() {
    for channel in state.withLock({ Array($0.channels.values) }) { channel.close(promise: nil) }
  }

  func waitUntilEmpty() async {
    await withCheckedContinuation { waiter in
      let empty = state.withLock { state in
        if state.channels.isEmpty { return true }
        state.waiters.append(waiter)
        return false
      }
      if empty { waiter.resume() }
    }
  }
}
