import Core
import GRPCCore
import NIOCore
import NIOHPACK
import NIOHTTP2

/// What every connection of one listener shares.
struct ConnectionSettings: Sendable {
  /// What is served on the connection; every other call goes through GRPCServer.
  var direct: [String: DirectRoute]
  var maxRequestPayload: Int
  /// Inbound flow-control window kept open per connection and per stream.
  var targetWindow: Int
  /// Hands a forwarded RPC to the transport's `listen`, which runs it in GRPCServer.
  var accept: @Sendable (ForwardedRPC.Accepted) -> Void
}

/// Serves gRPC on one HTTP/2 connection, frame by frame, with no channel and no task per
/// call: a direct method is answered right here on the event loop, a direct watch's
/// events are written as they come (`writeEvent`); any other RPC is handed to GRPCServer
/// and its response parts come back through `writeResponse`. It also
/// keeps the connection alive (`Keepalive`) and drains it on graceful shutdown (GOAWAY,
/// then close once the open calls are done).
final class GRPCConnectionHandler: ChannelInboundHandler {
  typealias InboundIn = HTTP2Frame
  typealias OutboundOut = HTTP2Frame

  private struct Call {
    enum Route {
      case direct(DirectMethod, clientID: String?, started: ContinuousClock.Instant?)
      /// A WatchStream until its request has arrived, then `watching`.
      case watch(DirectWatch, clientID: String?, started: ContinuousClock.Instant?)
      case watching(PushSubscription, metrics: MethodMetrics?, started: ContinuousClock.Instant?)
      case forwarded(ForwardedRPC)
    }
    var route: Route
    var deframer: MessageDeframer
    var request: PrefixedMessage?
    var requestEnded = false
    /// A forwarded request that broke off: what else the client sends is dropped.
    var requestDropped = false
    var responseStarted = false
    var responseEnded = false
  }

  private let settings: ConnectionSettings
  private var calls: [HTTP2StreamID: Call] = [:]
  private var context: ChannelHandlerContext?
  private var peers: Peers?
  private var reading = false
  private var flushPending = false
  /// Watch events written since the last flush.
  private var eventsUnflushed = false
  private var flushScheduled = false
  private var loopBound: NIOLoopBound<GRPCConnectionHandler>?
  private var keepalive = Keepalive()
  private var keepaliveTask: RepeatedTask?
  private var lastStreamID = HTTP2StreamID.rootStream
  private var draining = false

  init(settings: ConnectionSettings) { self.settings = settings }

  func handlerAdded(context: ChannelHandlerContext) {
    self.context = context
    peers = Peers(context.channel)
    let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
    loopBound = handler
    keepaliveTask = context.eventLoop.scheduleRepeatedTask(
      initialDelay: Keepalive.interval, delay: Keepalive.interval
    ) { _ in handler.value.keepaliveTick() }
  }

  func handlerRemoved(context: ChannelHandlerContext) {
    keepaliveTask?.cancel()
    self.context = nil
    loopBound = nil
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    reading = true
    keepalive.heardFrom = true
    let frame = unwrapInboundIn(data)
    switch frame.payload {
    case .headers(let headers):
      received(headers: headers.headers, endStream: headers.endStream, on: frame.streamID)
    case .data(let data):
      if case .byteBuffer(let bytes) = data.data {
        received(data: bytes, endStream: data.endStream, on: frame.streamID)
      }
    default:
      break  // NIOHTTP2Handler deals with the rest (SETTINGS, PING, WINDOW_UPDATE, …)
    }
  }

  func channelReadComplete(context: ChannelHandlerContext) {
    reading = false
    if flushPending {
      flushPending = false
      context.flush()
    }
    context.fireChannelReadComplete()
  }

  func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
    switch event {
    case let closed as StreamClosedEvent:
      if let call = calls.removeValue(forKey: closed.streamID) {
        abandon(call)
        closeIfDrained()
      }
    case let window as NIOHTTP2WindowUpdatedEvent:
      replenish(window)
    case is ChannelShouldQuiesceEvent:
      drain()
    default:
      break
    }
    context.fireUserInboundEventTriggered(event)
  }

  func channelInactive(context: ChannelHandlerContext) {
    keepaliveTask?.cancel()
    for call in calls.values { abandon(call) }
    calls.removeAll()
    context.fireChannelInactive()
  }

  /// The client has gone before the response ended: stop the work done for it.
  private func abandon(_ call: Call) {
    guard !call.responseEnded else { return }
    switch call.route {
    case .forwarded(let rpc):
      rpc.cancel()
    case .watching(let subscription, let metrics, let started):
      subscription.cancel()
      if let started { metrics?.record(RPCError.Code.cancelled, duration: .now - started) }
    case .direct, .watch:
      break
    }
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    // A stream error has reset that stream only; anything else ends the connection.
    if error is NIOHTTP2Errors.StreamError { return }
    context.close(promise: nil)
  }

  // MARK: Requests

  private func received(headers: HPACKHeaders, endStream: Bool, on id: HTTP2StreamID) {
    guard calls.index(forKey: id) == nil else {
      if endStream { requestEnded(on: id) }  // trailers from the client end its side
      return
    }
    lastStreamID = max(lastStreamID, id)
    let head = RequestHead(headers)
    if let rejection = GRPCWire.rejection(of: head) {
      return refuse(id, with: rejection, requestEnded: endStream)
    }
    let route: Call.Route
    switch settings.direct[head.path] {
    case .unary(let method):
      route = .direct(method, clientID: head.clientID, started: method.metrics == nil ? nil : .now)
    case .watch(let watch):
      route = .watch(watch, clientID: head.clientID, started: watch.metrics == nil ? nil : .now)
    case nil:
      guard let descriptor = GRPCWire.method(path: head.path), let peers, let loopBound else {
        let status = Status(code: .unimplemented, message: "no such method: \(head.path)")
        return refuse(id, with: GRPCWire.trailers(status, trailersOnly: true), requestEnded: endStream)
      }
      let (rpc, accepted) = ForwardedRPC.start(
        descriptor, metadata: GRPCWire.metadata(headers), streamID: id, handler: loopBound, peers: peers)
      settings.accept(accepted)
      route = .forwarded(rpc)
    }
    let call = Call(route: route, deframer: MessageDeframer(maxPayload: settings.maxRequestPayload))
    if endStream { end(call, on: id) } else { calls[id] = call }
  }

  private func received(data: ByteBuffer, endStream: Bool, on id: HTTP2StreamID) {
    guard var call = calls.removeValue(forKey: id) else { return }  // answered already
    if call.requestDropped {
      call.requestEnded = call.requestEnded || endStream
      calls[id] = call
      return
    }
    call.deframer.append(data)
    do {
      while let message = try call.deframer.next() {
        switch call.route {
        case .direct, .watch, .watching:
          guard call.request == nil else {
            throw RPCError(code: .internalError, message: "a unary request got more than one message")
          }
          call.request = message
        case .forwarded(let rpc):
          rpc.requests.yield(.message(message))
        }
      }
    } catch {
      return fail(call, on: id, with: error)
    }
    if endStream { end(call, on: id) } else { calls[id] = call }
  }

  private func requestEnded(on id: HTTP2StreamID) {
    if let call = calls.removeValue(forKey: id) { end(call, on: id) }
  }

  /// The client has sent its whole request (`call` is out of `calls`).
  private func end(_ call: Call, on id: HTTP2StreamID) {
    var call = call
    call.requestEnded = true
    let incomplete = RPCError(code: .internalError, message: "the request ended inside a message")
    let missing = RPCError(code: .internalError, message: "a unary request got no message")
    switch call.route {
    case .direct(let method, let clientID, let started):
      if !call.deframer.isEmpty { return fail(call, on: id, with: incomplete) }
      guard let request = call.request else { return fail(call, on: id, with: missing) }
      answer(method, request: request, clientID: clientID, started: started, on: id)
      closeIfDrained()
    case .watch(let watch, let clientID, let started):
      if !call.deframer.isEmpty { return fail(call, on: id, with: incomplete) }
      guard let request = call.request else { return fail(call, on: id, with: missing) }
      subscribe(call, watch, request: request, clientID: clientID, started: started, on: id)
    case .watching:
      calls[id] = call
    case .forwarded(let rpc):
      calls[id] = call
      if call.requestDropped { return }
      if call.deframer.isEmpty { rpc.requests.finish() } else { rpc.requests.finish(throwing: incomplete) }
    }
  }

  private func answer(
    _ method: DirectMethod, request: PrefixedMessage, clientID: String?, started: ContinuousClock.Instant?,
    on id: HTTP2StreamID
  ) {
    do {
      let response = try method.call(request, clientID)
      write(.headers(.init(headers: GRPCWire.responseHeaders)), on: id)
      write(.data(.init(data: .byteBuffer(response.buffer))), on: id)
      write(.headers(.init(headers: GRPCWire.okTrailers, endStream: true)), on: id)
      if let started { method.metrics?.record(nil, duration: .now - started) }
    } catch {
      reject(method.metrics, started: started, with: error, on: id, requestEnded: true)
    }
  }

  /// Answers a direct call with the error that ended it.
  private func reject(
    _ metrics: MethodMetrics?, started: ContinuousClock.Instant?, with error: any Error, on id: HTTP2StreamID,
    requestEnded: Bool
  ) {
    let (status, metadata) = GRPCWire.status(of: error)
    refuse(id, with: GRPCWire.trailers(status, metadata: metadata, trailersOnly: true), requestEnded: requestEnded)
    if let started { metrics?.record(rpcCode(of: error), duration: .now - started) }
  }

  /// A request that broke off (`call` is out of `calls`): a direct call is answered with
  /// the error; a forwarded one sees it as the end of its requests and GRPCServer answers.
  private func fail(_ call: Call, on id: HTTP2StreamID, with error: any Error) {
    switch call.route {
    case .direct(let method, _, let started):
      reject(method.metrics, started: started, with: error, on: id, requestEnded: call.requestEnded)
      closeIfDrained()
    case .watch(let watch, _, let started):
      reject(watch.metrics, started: started, with: error, on: id, requestEnded: call.requestEnded)
      closeIfDrained()
    case .watching:
      calls[id] = call  // its request has ended: anything more is ignored, the watch goes on
    case .forwarded(let rpc):
      var call = call
      call.deframer = MessageDeframer(maxPayload: settings.maxRequestPayload)
      call.requestDropped = true
      calls[id] = call
      rpc.requests.finish(throwing: error)
    }
  }

  /// Ends a stream with one header block; a client still sending is told to stop.
  private func refuse(_ id: HTTP2StreamID, with headers: HPACKHeaders, requestEnded: Bool) {
    write(.headers(.init(headers: headers, endStream: true)), on: id)
    if !requestEnded { write(.rstStream(.noError), on: id) }
  }

  // MARK: Direct watches

  /// Subscribes a direct watch (`call` is out of `calls`) and starts its response; its
  /// events come through `writeEvent` in the same loop's later turns.
  private func subscribe(
    _ call: Call, _ watch: DirectWatch, request: PrefixedMessage, clientID: String?,
    started: ContinuousClock.Instant?, on id: HTTP2StreamID
  ) {
    guard let context, let loopBound else { return }
    let sink = FanoutSink(
      GRPCWatchTarget(handler: loopBound, streamID: id), on: context.eventLoop, capacity: watch.capacity)
    do {
      let subscription = try watch.start(request, clientID, sink)
      var call = call
      call.route = .watching(subscription, metrics: watch.metrics, started: started)
      call.responseStarted = true
      calls[id] = call
      write(.headers(.init(headers: GRPCWire.responseHeaders)), on: id)
    } catch {
      reject(watch.metrics, started: started, with: error, on: id, requestEnded: true)
      closeIfDrained()
    }
  }

  /// One event of a direct watch, flushed by `flushEvents`; nil when the stream is gone.
  func writeEvent(_ message: ByteBuffer, on id: HTTP2StreamID) -> EventLoopFuture<Void>? {
    guard let context, let call = calls[id], !call.responseEnded else { return nil }
    let promise = context.eventLoop.makePromise(of: Void.self)
    context.write(
      wrapOutboundOut(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(message))))), promise: promise)
    eventsUnflushed = true
    return promise.futureResult
  }

  func flushEvents() {
    guard eventsUnflushed else { return }
    eventsUnflushed = false
    context?.flush()
  }

  /// The server ended a direct watch: OK at shutdown, RESOURCE_EXHAUSTED for a slow watcher.
  /// A slow watcher's trailers wait behind the events its closed flow-control window
  /// holds back, so its stream is also reset with ENHANCE_YOUR_CALM, which gRPC clients
  /// read as RESOURCE_EXHAUSTED too (and which frees what is held back).
  func endWatch(on id: HTTP2StreamID, slow: Bool) {
    guard var call = calls[id], !call.responseEnded, case .watching(_, let metrics, let started) = call.route
    else { return }
    call.responseEnded = true
    calls[id] = call
    let status =
      slow
      ? Status(code: .resourceExhausted, message: KeyQuarryService.slowWatcher.message) : Status(code: .ok, message: "")
    write(.headers(.init(headers: GRPCWire.trailers(status, trailersOnly: false), endStream: true)), on: id)
    if slow { write(.rstStream(.enhanceYourCalm), on: id) }
    if let started { metrics?.record(slow ? RPCError.Code.resourceExhausted : nil, duration: .now - started) }
  }

  // MARK: Responses of forwarded RPCs

  func writeResponse(_ part: RPCResponsePart<PrefixedMessage>, on id: HTTP2StreamID, promise: EventLoopPromise<Void>) {
    guard var call = calls[id], !call.responseEnded else {
      return promise.fail(RPCError(code: .cancelled, message: "the stream has closed"))
    }
    switch part {
    case .metadata(let metadata):
      call.responseStarted = true
      write(.headers(.init(headers: GRPCWire.headers(metadata))), on: id, promise: promise)
    case .message(let message):
      if !call.responseStarted {
        call.responseStarted = true
        write(.headers(.init(headers: GRPCWire.responseHeaders)), on: id)
      }
      write(.data(.init(data: .byteBuffer(message.buffer))), on: id, promise: promise)
    case .status(let status, let metadata):
      let trailers = GRPCWire.trailers(status, metadata: metadata, trailersOnly: !call.responseStarted)
      call.responseEnded = true
      write(.headers(.init(headers: trailers, endStream: true)), on: id, promise: promise)
      if !call.requestEnded { write(.rstStream(.noError), on: id) }
    }
    calls[id] = call
  }

  /// The RPC failed without a status (GRPCServer always writes one; this is the fallback).
  func reset(_ id: HTTP2StreamID) {
    guard let call = calls[id], !call.responseEnded else { return }
    calls[id]?.responseEnded = true
    write(.rstStream(.internalError), on: id)
  }

  // MARK: The connection

  /// Graceful shutdown: no new calls (streams after `lastStreamID` are refused and the
  /// client may retry them elsewhere), close once the open ones are done.
  private func drain() {
    guard !draining else { return }
    draining = true
    write(.goAway(lastStreamID: lastStreamID, errorCode: .noError, opaqueData: nil), on: .rootStream)
    closeIfDrained()
  }

  private func closeIfDrained() {
    guard draining, calls.isEmpty, let context else { return }
    context.flush()
    context.close(promise: nil)
  }

  private func keepaliveTick() {
    guard let context else { return }
    switch keepalive.tick(now: .now()) {
    case .none:
      break
    case .ping:
      write(.ping(HTTP2PingData(withInteger: .random(in: .min ... .max)), ack: false), on: .rootStream)
    case .close:
      context.close(promise: nil)
    }
  }

  private func write(_ payload: HTTP2Frame.FramePayload, on id: HTTP2StreamID, promise: EventLoopPromise<Void>? = nil) {
    guard let context else {
      promise?.fail(ChannelError.ioOnClosedChannel)
      return
    }
    context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: payload)), promise: promise)
    if reading {
      flushPending = true  // flushed by channelReadComplete
    } else if !flushScheduled, let loopBound {
      // Writes from other tasks (watch events fanned out to many streams of this
      // connection) arrive as separate event-loop tasks: one flush after them all.
      flushScheduled = true
      context.eventLoop.execute {
        loopBound.value.flushScheduled = false
        loopBound.value.context?.flush()
      }
    }
  }

  /// Keeps the inbound windows open: once half of one is used, it is topped up again.
  private func replenish(_ event: NIOHTTP2WindowUpdatedEvent) {
    guard let window = event.inboundWindowSize, window <= settings.targetWindow / 2 else { return }
    if event.streamID != .rootStream {
      guard let call = calls[event.streamID], !call.requestEnded else { return }
    }
    write(.windowUpdate(windowSizeIncrement: settings.targetWindow - window), on: event.streamID)
  }
}
