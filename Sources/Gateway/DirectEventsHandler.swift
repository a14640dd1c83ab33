import Core
import GRPCServer
import HTTPTypes
import HummingbirdCore
import NIOCore
import NIOHTTP1

/// Serves `GET /v1/events` (WatchStream as SSE or NDJSON) on the connection's event
/// loop: the store pushes each event through the loop's `LoopFanout`, which encodes it
/// once for all its watchers, so a watcher costs no request task, no stream tasks and no
/// JSON encoding of its own. The same request parsing, framing and slow-consumer rule as
/// the route, which serves when this handler is not installed (see `DirectGetHandler`).
///
/// Once a stream has started the connection is the stream's: HTTP/1.1 answers in order,
/// so requests pipelined behind an endless response are never answered (as with the
/// route). When the server ends the stream (shutdown) it closes the connection after the
/// last chunk; a watcher that fell too far behind is disconnected at once.
///
/// After the response head the body goes out as chunks framed here and written below
/// NIO's HTTP/1 encoder: an event's chunk is made once and the same bytes are one write
/// for every watcher, instead of a chunk header, the frame and a CRLF per watcher.
final class DirectEventsHandler: ChannelDuplexHandler, RemovableChannelHandler {
  typealias InboundIn = HTTPServerRequestPart
  typealias InboundOut = HTTPServerRequestPart
  typealias OutboundIn = HTTPServerResponsePart
  typealias OutboundOut = HTTPServerResponsePart

  private struct Stream {
    let subscription: PushSubscription
    let replay: WatchReplay
    let ndjson: Bool
    var heartbeat: RepeatedTask?
    var ended = false
  }

  private let store: Store
  private let heartbeat: TimeAmount
  private var response: DirectResponse
  private var context: ChannelHandlerContext?
  /// Where chunks are written: the context of NIO's HTTP/1 response encoder.
  private var encoder: ChannelHandlerContext?
  private var requests = InOrderTaking<HTTPRequestHead>()
  private var stream: Stream?
  private var unflushed = false
  /// The channel is below NIO's high-water mark (kept from its events: asking the channel
  /// for every event of a fan-out costs more than the event's own write).
  private var writable = true

  init(store: Store, heartbeat: Duration, serverName: String) {
    self.store = store
    self.heartbeat = .nanoseconds(heartbeat.nanoseconds)
    response = DirectResponse(serverName: serverName)
  }

  func handlerAdded(context: ChannelHandlerContext) {
    self.context = context
    encoder = try? context.pipeline.syncOperations.context(handlerType: HTTPResponseEncoder.self)
    writable = context.channel.isWritable
  }

  func handlerRemoved(context: ChannelHandlerContext) {
    stop()
    (self.context, encoder) = (nil, nil)
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    if stream != nil { return }
    switch requests.read(unwrapInboundIn(data), wanted: { encoder != nil && Self.isEvents($0) ? $0 : nil }) {
    case .pass: context.fireChannelRead(data)
    case .keep: break
    case .answer(let head): start(head, context: context)
    }
  }

  func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
    requests.wrote(unwrapOutboundIn(data))
    context.write(data, promise: promise)
  }

  func channelWritabilityChanged(context: ChannelHandlerContext) {
    writable = context.channel.isWritable
    context.fireChannelWritabilityChanged()
  }

  func channelInactive(context: ChannelHandlerContext) {
    stop()
    context.fireChannelInactive()
  }

  /// The client has gone: let go of the watch.
  private func stop() {
    guard let stream else { return }
    stream.heartbeat?.cancel()
    stream.subscription.cancel()
    self.stream = nil  // and with it the sink that refers to this handler
  }

  private static func isEvents(_ head: HTTPRequestHead) -> Bool {
    guard head.method == .GET, head.uri.hasPrefix("/v1/events") else { return false }
    let rest = head.uri.utf8.dropFirst("/v1/events".utf8.count)
    return (rest.isEmpty || rest.first == UInt8(ascii: "?")) && !head.headers.contains(name: "expect")
  }

  private func start(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
    let subscribed: (WatchReplay, PushSubscription, ndjson: Bool)
    do {
      let asked = try EventsRequest(
        uri: URI(head.uri), header: { head.headers.first(name: $0) },
        peer: context.channel.remoteAddress?.ipAddress ?? "local")
      let sink = FanoutSink(
        SSEWatchTarget(handler: NIOLoopBound(self, eventLoop: context.eventLoop)), on: context.eventLoop,
        buffer: store.makeWatchBuffer())
      let (replay, subscription) = try store.watch(asked.filter, resumingAfter: asked.lastEventID, into: sink)
      subscribed = (replay, subscription, asked.ndjson)
    } catch {
      response.write(GatewayError(error).reply, to: context)
      return context.flush()
    }
    let (replay, subscription, ndjson) = subscribed
    stream = Stream(subscription: subscription, replay: replay, ndjson: ndjson)
    let contentType = ndjson ? "application/x-ndjson" : "text/event-stream"
    context.write(
      wrapOutboundOut(response.head(.ok, [.cacheControl: "no-cache", .contentType: contentType], contentLength: nil)),
      promise: nil)
    if !ndjson { writeChunk(HTTPChunk.frame(ByteBuffer(string: "retry: 2000\n\n"))) }
    for item in replay.items {
      switch item {
      case .reset: writeChunk(HTTPChunk.frame(ndjson ? StreamFrame.reset.ndjson : StreamFrame.reset.sse))
      case .event(let event):
        var encoded = EncodedEvent(event)
        writeChunk(encoded.chunk(ndjson: ndjson))
      }
    }
    if !ndjson {
      let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
      stream?.heartbeat = context.eventLoop.scheduleRepeatedTask(initialDelay: heartbeat, delay: heartbeat) { _ in
        handler.value.writeChunk(HTTPChunk.keepalive)
        handler.value.flushEvents()
      }
    }
    context.flush()
  }

  private func writeChunk(_ chunk: ByteBuffer, promise: EventLoopPromise<Void>? = nil) {
    encoder?.write(NIOAny(chunk), promise: promise)
    unflushed = true
  }

  // MARK: What the fanout calls

  func writeEvent(_ event: inout EncodedEvent) -> FanoutWrite {
    guard let context, let stream, !stream.ended, !stream.replay.includes(event.event) else { return .gone }
    let chunk = event.chunk(ndjson: stream.ndjson)
    // Below NIO's high-water mark nothing but the socket stands between the chunk and the
    // client, so only chunks written past it (a client that stopped reading) are held
    // and counted, and pay for a promise.
    if writable {
      writeChunk(chunk)
      return .accepted
    }
    let promise = context.eventLoop.makePromise(of: Void.self)
    writeChunk(chunk, promise: promise)
    return .held(promise.futureResult)
  }

  func flushEvents() {
    guard unflushed else { return }
    unflushed = false
    encoder?.flush()
  }

  func endStream(slow: Bool) {
    guard let context, let encoder, stream?.ended == false else { return }
    stream?.ended = true
    stream?.heartbeat?.cancel()
    if slow { return context.close(promise: nil) }
    encoder.writeAndFlush(NIOAny(HTTPChunk.last)).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
  }
}

/// One SSE (or NDJSON) watch, as its `FanoutSink` writes to it.
struct SSEWatchTarget: FanoutTarget {
  let handler: NIOLoopBound<DirectEventsHandler>

  func write(_ event: inout EncodedEvent) -> FanoutWrite { handler.value.writeEvent(&event) }
  func end(slow: Bool) { handler.value.endStream(slow: slow) }
  func flush() { handler.value.flushEvents() }
}

extension EncodedEvent {
  /// The event as one chunk of an SSE or NDJSON body, made once per batch of watchers.
  mutating func chunk(ndjson: Bool) -> ByteBuffer {
    framing(ndjson ? "ndjson chunk" : "sse chunk") { encoded in
      let frame = StreamFrame(encoded.event, json: encoded.json())
      return HTTPChunk.frame(ndjson ? frame.ndjson : frame.sse)
    }
  }
}

/// Chunked transfer coding (RFC 9112 §7.1), for bodies written below NIO's encoder.
enum HTTPChunk {
  static let keepalive = frame(ByteBuffer(string: ": keepalive\n\n"))
  static let last = ByteBuffer(string: "0\r\n\r\n")

  /// `payload` (not empty) as one chunk: its size in hex, CRLF, the bytes, CRLF.
  static func frame(_ payload: ByteBuffer) -> ByteBuffer {
    let size = String(payload.readableBytes, radix: 16)
    var chunk = ByteBuffer()
    chunk.reserveCapacity(size.utf8.count + payload.readableBytes + 4)
    chunk.writeString(size)
    chunk.writeStaticString("\r\n")
    chunk.writeImmutableBuffer(payload)
    chunk.writeStaticString("\r\n")
    return chunk
  }
}
