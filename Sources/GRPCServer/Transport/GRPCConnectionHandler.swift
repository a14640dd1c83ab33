import Core
import GRPCCore
import NIOCore
import NIOHPACK

/// What every connection of one listener shares.
struct ConnectionSettings: Sendable {
  /// What is served on the connection; every other call goes through GRPCServer.
  var direct: [String: DirectRoute]
  var maxRequestPayload: Int
  var responseCompression: ResponseCompression?
  /// HTTP/2 windows, stream and frame limits.
  var http2: HTTP2Session.Configuration
  /// Closes a connection whose preface and SETTINGS have not come by then.
  var handshakeTimeout: TimeAmount?
  /// Hands a forwarded RPC to the transport's `listen`, which runs it in GRPCServer.
  var accept: @Sendable (ForwardedRPC.Accepted) -> Void
}

/// Serves gRPC on one HTTP/2 connection (its `HTTP2Session`), with no channel and no task
/// per call: a direct method is answered right here on the event loop, a direct watch's
/// events are written as they come (`writeEvent`); any other RPC is handed to GRPCServer
/// and its response parts come back through `writeResponse`. It also
/// keeps the connection alive (`Keepalive`) and drains it on graceful shutdown (GOAWAY,
/// then close once the open calls are done).
final class GRPCConnectionHandler: ChannelInboundHandler, HTTP2StreamDelegate {
  typealias InboundIn = ByteBuffer
  typealias OutboundOut = ByteBuffer

  private struct Call {
    enum Route {
      case direct(DirectMethod, clientID: String?, started: ContinuousClock.Instant?)
      /// A WatchStream until its request has arrived, then `watching`.
      case watch(DirectWatch, clientID: String?, started: ContinuousClock.Instant?)
      case watching(PushSubscription, metrics: MethodMetrics?, started: ContinuousClock.Instant?)
      case forwarded(ForwardedRPC)

      /// Its response has started: a direct watch subscribed (its headers sent).
      var isRunning: Bool {
        if case .watching = self { true } else { false }
      }
    }
    var route: Route
    var deframer: MessageDeframer
    /// How its response messages are compressed, if the client accepts it.
    var compression: ResponseCompression?
    /// `grpc-timeout`: past it a call is not run, and one still going is ended.
    var deadline: NIODeadline?
    /// Ends a watch or a forwarded call at its deadline.
    var expiry: Scheduled<Void>?
    var request: PrefixedMessage?
    var requestEnded = false
    /// A forwarded request that broke off: what else the client sends is dropped.
    var requestDropped = false
    /// A forwarded call's response headers have gone.
    var responseStarted = false
  }

  private let settings: ConnectionSettings
  private var session: HTTP2Session!
  /// The calls whose responses have not ended.
  private var calls: [StreamID: Call] = [:]
  private var context: ChannelHandlerContext?
  private var peers: Peers?
  private var loopBound: NIOLoopBound<GRPCConnectionHandler>?
  private var keepalive = Keepalive()
  private var keepaliveTask: RepeatedTask?
  /// Cancelled with the handler: its closure holds the handler until it fires.
  private var handshakeTask: Scheduled<Void>?
  private var draining = false
  /// The channel is below NIO's high-water mark (kept from its events: asking the channel
  /// for every event of a fan-out costs more than the event's own write).
  private var writable = true

  init(settings: ConnectionSettings) {
    self.settings = settings
    session = HTTP2Session(configuration: settings.http2, delegate: self)
  }

  func handlerAdded(context: ChannelHandlerContext) {
    self.context = context
    writable = context.channel.isWritable
    peers = Peers(context.channel)
    let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
    loopBound = handler
    keepaliveTask = context.eventLoop.scheduleRepeatedTask(
      initialDelay: Keepalive.interval, delay: Keepalive.interval
    ) { _ in handler.value.keepaliveTick() }
    if let timeout = settings.handshakeTimeout {
      handshakeTask = context.eventLoop.scheduleTask(in: timeout) { handler.value.checkStarted() }
    }
    if context.channel.isActive { session.start(context) }
  }

  func handlerRemoved(context: ChannelHandlerContext) {
    keepaliveTask?.cancel()
    handshakeTask?.cancel()
    session.stop()
    self.context = nil
    loopBound = nil
  }

  func channelActive(context: ChannelHandlerContext) {
    session.start(context)
    context.fireChannelActive()
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    keepalive.heardFrom = true
    session.read(unwrapInboundIn(data))
  }

  func channelReadComplete(context: ChannelHandlerContext) {
    session.readComplete()
    closeIfDrained()
    context.fireChannelReadComplete()
  }

  func channelWritabilityChanged(context: ChannelHandlerContext) {
    writable = context.channel.isWritable
    context.fireChannelWritabilityChanged()
  }

  func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
    if event is ChannelShouldQuiesceEvent { drain() }
    context.fireUserInboundEventTriggered(event)
  }

  func channelInactive(context: ChannelHandlerContext) {
    keepaliveTask?.cancel()
    session.stop()
    for call in calls.values { abandon(call) }
    calls.removeAll()
    context.fireChannelInactive()
  }

  /// The client has gone (or the deadline has passed) before the response ended: stop
  /// the work done for it; a watch is recorded with `code`.
  private func abandon(_ call: Call, as code: RPCError.Code = .cancelled) {
    call.expiry?.cancel()
    switch call.route {
    case .forwarded(let rpc):
      rpc.cancel()
    case .watching(let subscription, let metrics, let started):
      subscription.cancel()
      if let started { metrics?.record(code, duration: .now - started) }
    case .direct, .watch:
      break
    }
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    context.close(promise: nil)
  }

  // MARK: Requests

  func opened(_ id: StreamID, headers: HPACKHeaders, endStream: Bool) {
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
    let encoding = MessageEncoding(header: head.encoding) ?? .identity  // an unknown one was refused
    var call = Call(
      route: route, deframer: MessageDeframer(maxPayload: settings.maxRequestPayload, encoding: encoding),
      compression: settings.responseCompression?.ifAccepted(by: head.acceptEncoding))
    if case .after(let timeout) = head.timeout {
      call.deadline = .now() + timeout
      call.expiry = expiry(of: route, on: id, at: call.deadline!)
    }
    if endStream { end(call, on: id) } else { calls[id] = call }
  }

  func opened(_ id: StreamID, oversizedHeaders size: Int, endStream: Bool) {
    let limit = settings.http2.maxHeaderListSize
    let status = Status(
      code: .resourceExhausted, message: "the request's header list is \(size) bytes, over the \(limit)-byte limit")
    refuse(id, with: GRPCWire.trailers(status, trailersOnly: true), requestEnded: endStream)
  }

  func received(data: ByteBuffer, endStream: Bool, on id: StreamID) {
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

  func receivedTrailers(on id: StreamID) {
    if let call = calls.removeValue(forKey: id) { end(call, on: id) }
  }

  func wasReset(_ id: StreamID) {
    guard let call = calls.removeValue(forKey: id) else { return }
    abandon(call)
    closeIfDrained()
  }

  /// The client has sent its whole request (`call` is out of `calls`).
  private func end(_ call: Call, on id: StreamID) {
    var call = call
    call.requestEnded = true
    let incomplete = RPCError(code: .internalError, message: "the request ended inside a message")
    let missing = RPCError(code: .internalError, message: "a unary request got no message")
    if let deadline = call.deadline, deadline <= .now(), !call.route.isRunning {
      return fail(call, on: id, with: RPCError(code: .deadlineExceeded, message: "the deadline passed before the call ran"))
    }
    switch call.route {
    case .direct(let method, let clientID, let started):
      if !call.deframer.isEmpty { return fail(call, on: id, with: incomplete) }
      guard let request = call.request else { return fail(call, on: id, with: missing) }
      answer(method, request: request, clientID: clientID, started: started, compression: call.compression, on: id)
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
    compression: ResponseCompression?, on id: StreamID
  ) {
    let response: PrefixedMessage
    do {
      response = try method.call(request, clientID)
    } catch {
      return reject(method.metrics, started: started, with: error, on: id, requestEnded: true)
    }
    guard let whenDurable = method.whenDurable, let loop = context?.eventLoop, let loopBound else {
      return send(response, of: method, started: started, compression: compression, on: id)
    }
    // The stream stays open meanwhile, so the connection is not closed under it.
    whenDurable { written in
      loop.execute {
        let handler = loopBound.value
        guard handler.context != nil else { return }
        if written {
          handler.send(response, of: method, started: started, compression: compression, on: id)
          handler.session.flushSoon()
        } else {
          handler.reject(method.metrics, started: started, with: StoreError.notDurable, on: id, requestEnded: true)
        }
        handler.closeIfDrained()
      }
    }
  }

  private func send(
    _ response: PrefixedMessage, of method: DirectMethod, started: ContinuousClock.Instant?,
    compression: ResponseCompression?, on id: StreamID
  ) {
    session.sendHeaders(compression?.responseHead ?? GRPCWire.responseHead, on: id)
    session.sendData(compression?.compress(response.buffer) ?? response.buffer, on: id)
    session.sendHeaders(GRPCWire.okTrailers, on: id, endStream: true)
    if let started { method.metrics?.record(nil, duration: .now - started) }
  }

  /// Answers a direct call with the error that ended it.
  private func reject(
    _ metrics: MethodMetrics?, started: ContinuousClock.Instant?, with error: any Error, on id: StreamID,
    requestEnded: Bool
  ) {
    let (status, metadata) = GRPCWire.status(of: error)
    refuse(id, with: GRPCWire.trailers(status, metadata: metadata, trailersOnly: true), requestEnded: requestEnded)
    if let started { metrics?.record(rpcCode(of: error), duration: .now - started) }
  }

  /// A request that broke off (`call` is out of `calls`): a direct call is answered with
  /// the error; a forwarded one sees it as the end of its requests and GRPCServer answers.
  private func fail(_ call: Call, on id: StreamID, with error: any Error) {
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
      call.deframer = MessageDeframer(maxPayload: settings.maxRequestPayload, encoding: call.deframer.encoding)
      call.requestDropped = true
      calls[id] = call
      rpc.requests.finish(throwing: error)
    }
  }

  /// Ends a stream with one header block; a client still sending is told to stop.
  private func refuse(_ id: StreamID, with headers: HPACKHeaders, requestEnded: Bool) {
    session.sendHeaders(HeaderBlock(headers), on: id, endStream: true)
    if !requestEnded { session.reset(id, .noError) }
    session.flushSoon()
  }

  // MARK: Direct watches

  /// Subscribes a direct watch (`call` is out of `calls`) and starts its response; its
  /// events come through `writeEvent` in the same loop's later turns.
  private func subscribe(
    _ call: Call, _ watch: DirectWatch, request: PrefixedMessage, clientID: String?,
    started: ContinuousClock.Instant?, on id: StreamID
  ) {
    guard let context, let loopBound else { return }
    let sink = FanoutSink(
      GRPCWatchTarget(handler: loopBound, streamID: id, compression: call.compression), on: context.eventLoop,
      buffer: watch.makeBuffer())
    do {
      let subscription = try watch.start(request, clientID, sink)
      var call = call
      call.route = .watching(subscription, metrics: watch.metrics, started: started)
      calls[id] = call
      session.sendHeaders(call.compression?.responseHead ?? GRPCWire.responseHead, on: id)
    } catch {
      reject(watch.metrics, started: started, with: error, on: id, requestEnded: true)
      closeIfDrained()
    }
  }

  /// One event of a direct watch, flushed by `flushEvents`. The session knows whether the
  /// stream is still open: its watch ended (`endWatch`) or was reset, it is `gone`.
  func writeEvent(_ message: ByteBuffer, on id: StreamID) -> FanoutWrite {
    guard let context else { return .gone }
    if writable, let sent = session.sendDataAtOnce(message, on: id) { return sent == .gone ? .gone : .accepted }
    let promise = context.eventLoop.makePromise(of: Void.self)
    return session.sendData(message, on: id, promise: promise) == .gone ? .gone : .held(promise.futureResult)
  }

  func flushEvents() { session.flush() }

  /// The server ended a direct watch: OK at shutdown, RESOURCE_EXHAUSTED for a slow watcher.
  /// A slow watcher's trailers wait behind the events its closed flow-control window
  /// holds back, so its stream is also reset with ENHANCE_YOUR_CALM, which gRPC clients
  /// read as RESOURCE_EXHAUSTED too (and which frees what is held back).
  func endWatch(on id: StreamID, slow: Bool) {
    guard let call = calls[id], case .watching(_, let metrics, let started) = call.route else { return }
    calls[id] = nil
    call.expiry?.cancel()
    let status =
      slow
      ? Status(code: .resourceExhausted, message: KeyQuarryService.slowWatcher.message) : Status(code: .ok, message: "")
    session.sendHeaders(HeaderBlock(GRPCWire.trailers(status, trailersOnly: false)), on: id, endStream: true)
    if slow { session.reset(id, .enhanceYourCalm) }
    session.flushSoon()
    if let started { metrics?.record(slow ? RPCError.Code.resourceExhausted : nil, duration: .now - started) }
    closeIfDrained()
  }

  // MARK: Responses of forwarded RPCs

  func writeResponse(_ part: RPCResponsePart<PrefixedMessage>, on id: StreamID, promise: EventLoopPromise<Void>) {
    guard var call = calls[id] else {
      return promise.fail(RPCError(code: .cancelled, message: "the stream has closed"))
    }
    switch part {
    case .metadata(let metadata):
      call.responseStarted = true
      calls[id] = call
      let headers = GRPCWire.headers(metadata)
      session.sendHeaders(HeaderBlock(call.compression?.headers(headers) ?? headers), on: id, promise: promise)
    case .message(let message):
      if !call.responseStarted {
        call.responseStarted = true
        calls[id] = call
        session.sendHeaders(call.compression?.responseHead ?? GRPCWire.responseHead, on: id)
      }
      session.sendData(call.compression?.compress(message.buffer) ?? message.buffer, on: id, promise: promise)
    case .status(let status, let metadata):
      // GRPCServer's own timer cancels a call at its deadline too, and a watch ends OK
      // when cancelled: whichever comes first, past the deadline the answer is
      // DEADLINE_EXCEEDED, as the client sees it anyway.
      let trailers =
        if let deadline = call.deadline, deadline <= .now() {
          GRPCWire.trailers(Self.deadlineExceeded, trailersOnly: !call.responseStarted)
        } else {
          GRPCWire.trailers(status, metadata: metadata, trailersOnly: !call.responseStarted)
        }
      calls[id] = nil
      call.expiry?.cancel()
      session.sendHeaders(HeaderBlock(trailers), on: id, endStream: true, promise: promise)
      if !call.requestEnded { session.reset(id, .noError) }
      closeIfDrained()
    }
    session.flushSoon()
  }

  /// The RPC failed without a status (GRPCServer always writes one; this is the fallback).
  func reset(_ id: StreamID) {
    guard let call = calls.removeValue(forKey: id) else { return }
    call.expiry?.cancel()
    session.reset(id, .internalError)
    session.flushSoon()
    closeIfDrained()
  }

  // MARK: Deadlines

  /// A watch or forwarded call's end at its deadline; nil for a direct call, which is
  /// checked when its request has come (it never waits after that).
  private func expiry(of route: Call.Route, on id: StreamID, at deadline: NIODeadline) -> Scheduled<Void>? {
    guard let context, let loopBound else { return nil }
    switch route {
    case .direct: return nil
    case .watch, .watching, .forwarded:
      return context.eventLoop.scheduleTask(deadline: deadline) { loopBound.value.expire(id) }
    }
  }

  private static let deadlineExceeded = Status(code: .deadlineExceeded, message: "deadline exceeded")

  /// The deadline of a call still going has passed: DEADLINE_EXCEEDED, and its work stops.
  private func expire(_ id: StreamID) {
    guard let call = calls.removeValue(forKey: id) else { return }
    session.sendHeaders(
      HeaderBlock(GRPCWire.trailers(Self.deadlineExceeded, trailersOnly: !call.responseStarted && !call.route.isRunning)),
      on: id, endStream: true)
    if !call.requestEnded { session.reset(id, .noError) }
    abandon(call, as: .deadlineExceeded)
    session.flushSoon()
    closeIfDrained()
  }

  // MARK: The connection

  /// Graceful shutdown: no new calls (streams the client opens after the GOAWAY are
  /// refused and it may retry them elsewhere), close once the open ones are done.
  private func drain() {
    guard !draining else { return }
    draining = true
    session.goAway()
    session.flushSoon()
    closeIfDrained()
  }

  private func closeIfDrained() {
    guard draining, calls.isEmpty, session.openStreams == 0, let context else { return }
    session.flush()
    context.close(promise: nil)
  }

  /// The handshake timeout: a client that has not started HTTP/2 by now (a slow or
  /// silent preface) holds a connection for nothing.
  private func checkStarted() {
    if !session.started { context?.close(promise: nil) }
  }

  private func keepaliveTick() {
    guard let context else { return }
    switch keepalive.tick(now: .now()) {
    case .none:
      break
    case .ping:
      session.ping(.random(in: .min ... .max))
      session.flushSoon()
    case .close:
      context.close(promise: nil)
    }
  }
}
