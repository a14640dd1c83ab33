import GRPCCore
import NIOCore
import Synchronization

/// An RPC that GRPCServer runs (with its interceptors): the connection handler feeds its
/// request parts in and its response parts go back out through the handler, on the
/// connection's event loop.
struct ForwardedRPC {
  typealias Stream = RPCStream<
    RPCAsyncSequence<RPCRequestPart<PrefixedMessage>, any Error>, RPCWriter<RPCResponsePart<PrefixedMessage>>.Closable
  >

  /// What the transport's `listen` runs.
  struct Accepted: Sendable {
    let stream: Stream
    let context: ServerContext
    let cancellation: CancellationSlot
  }

  let requests: AsyncThrowingStream<RPCRequestPart<PrefixedMessage>, any Error>.Continuation
  let cancellation = CancellationSlot()

  /// Starts the RPC with its metadata and returns what GRPCServer needs to run it.
  static func start(
    _ descriptor: MethodDescriptor, metadata: Metadata, streamID: StreamID,
    handler: NIOLoopBound<GRPCConnectionHandler>, peers: Peers
  ) -> (ForwardedRPC, Accepted) {
    let (requests, continuation) = AsyncThrowingStream.makeStream(of: RPCRequestPart<PrefixedMessage>.self)
    continuation.yield(.metadata(metadata))
    let rpc = ForwardedRPC(requests: continuation)
    let stream = Stream(
      descriptor: descriptor, inbound: RPCAsyncSequence(wrapping: requests),
      outbound: RPCWriter.Closable(wrapping: ResponseWriter(handler: handler, streamID: streamID)))
    let context = ServerContext(
      descriptor: descriptor, remotePeer: peers.remote, localPeer: peers.local, cancellation: .init())
    return (rpc, Accepted(stream: stream, context: context, cancellation: rpc.cancellation))
  }

  /// The client reset the stream or the connection went away.
  func cancel() {
    requests.finish(throwing: RPCError(code: .cancelled, message: "the client cancelled the RPC"))
    cancellation.cancel()
  }
}

/// Where the RPC's cancellation handle will be. grpc-swift makes the handle inside the
/// RPC's task (`withServerContextRPCCancellationHandle`, so that the handler's
/// `withRPCCancellationHandler` finds it), which may start after the client has gone.
final class CancellationSlot: Sendable {
  private let state = Mutex<(handle: ServerContext.RPCCancellationHandle?, cancelled: Bool)>((nil, false))

  func attach(_ handle: ServerContext.RPCCancellationHandle) {
    let cancelled = state.withLock { state in
      state.handle = handle
      return state.cancelled
    }
    if cancelled { handle.cancel() }
  }

  func cancel() {
    state.withLock { state in
      state.cancelled = true
      return state.handle
    }?.cancel()
  }
}

/// The two ends of a connection, as grpc-swift names peers (`ipv4:127.0.0.1:5000`).
struct Peers: Sendable {
  let remote: String
  let local: String

  init(_ channel: any Channel) {
    remote = Self.describe(channel.remoteAddress)
    local = Self.describe(channel.localAddress)
  }

  private static func describe(_ address: SocketAddress?) -> String {
    guard let address else { return "unknown" }
    switch address {
    case .v4: return "ipv4:\(address.ipAddress ?? ""):\(address.port ?? 0)"
    case .v6: return "ipv6:[\(address.ipAddress ?? "")]:\(address.port ?? 0)"
    case .unixDomainSocket: return "unix:\(address.pathname ?? "")"
    }
  }
}

/// Writes one RPC's response parts, each once the connection has written it, so a stream
/// whose client reads slowly waits instead of queueing without bound.
private struct ResponseWriter: ClosableRPCWriterProtocol {
  typealias Element = RPCResponsePart<PrefixedMessage>
  let handler: NIOLoopBound<GRPCConnectionHandler>
  let streamID: StreamID

  func write(_ part: Element) async throws {
    let promise = handler.eventLoop.makePromise(of: Void.self)
    handler.eventLoop.execute { [handler, streamID] in
      handler.value.writeResponse(part, on: streamID, promise: promise)
    }
    try await promise.futureResult.get()
  }

  func write(contentsOf parts: some Sequence<Element>) async throws {
    for part in parts { try await write(part) }
  }

  /// The status part has ended the stream already.
  func finish() async {}

  func finish(throwing error: any Error) async {
    handler.eventLoop.execute { [handler, streamID] in handler.value.reset(streamID) }
  }
}
