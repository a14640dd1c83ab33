import Core
import GRPCCore
import HTTPTypes
import NIOCore
import NIOHTTP1

/// First after NIO's HTTP/1 decoder on every gateway and monitor connection, so that it
/// sees each request, whoever answers it (`DirectGetHandler`, `DirectEventsHandler` or
/// Hummingbird). It does four things that need to know which requests are still open:
///
/// - answers 408 and closes a connection whose first request head has not arrived within
///   `handshakeTimeout` of its start (a silent or slow client holding a connection;
///   later requests are bounded by `idleTimeout`).
/// - closes a keep-alive connection that has been idle for `idleTimeout`: no request in
///   progress and no request part read in that time. A response still being written (an
///   event stream, a long call) keeps its connection, however quiet; a request whose head
///   or body stops arriving half-way does not.
/// - answers a request NIO's parser rejects with the gateway's JSON error and closes the
///   connection: 431 when the request line and header fields pass NIO's 80 KiB (a URI
///   that long counts there too), 400 for anything else malformed. The answer waits for
///   the responses to the requests before it (HTTP/1.1 answers in order). A parser error
///   inside a request's body goes on to whoever has that request, which answers it with
///   the same error (`GatewayError`).
/// - answers a request that `refusal` refuses (the gateway's `BrowserPolicy`) the same
///   way, before anyone else sees it.
final class HTTPConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
  typealias InboundIn = HTTPServerRequestPart
  typealias InboundOut = HTTPServerRequestPart
  typealias OutboundIn = HTTPServerResponsePart
  typealias OutboundOut = HTTPServerResponsePart

  private let idleTimeout: TimeAmount?
  private let handshakeTimeout: TimeAmount?
  /// Closes a connection that has not started by `handshakeTimeout`, until its first head.
  private var handshakeTimer: Scheduled<Void>?
  private let refusal: (@Sendable (HTTPRequestHead) -> (any Error)?)?
  private var response: DirectResponse
  /// Requests whose head has arrived and whose response has not ended.
  private var open = 0
  private var readingRequest = false
  private var lastActive = NIODeadline.now()
  /// The next idle check, or the end of a rejected connection.
  private var timer: Scheduled<Void>?
  /// A malformed request waiting for the responses before it.
  private var rejected: GatewayError?
  private var closing = false

  init(
    idleTimeout: Duration?, handshakeTimeout: Duration? = nil, serverName: String,
    refusal: (@Sendable (HTTPRequestHead) -> (any Error)?)? = nil
  ) {
    self.idleTimeout = idleTimeout.map { .nanoseconds($0.nanoseconds) }
    self.handshakeTimeout = handshakeTimeout.map { .nanoseconds($0.nanoseconds) }
    self.refusal = refusal
    response = DirectResponse(serverName: serverName)
  }

  func handlerAdded(context: ChannelHandlerContext) {
    if let handshakeTimeout {
      handshakeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: handshakeTimeout) {
        self.handshakeTimedOut(context)
      }
    }
    if context.channel.isActive { scheduleIdleCheck(context) }
  }

  func channelActive(context: ChannelHandlerContext) {
    scheduleIdleCheck(context)
    context.fireChannelActive()
  }

  func handlerRemoved(context: ChannelHandlerContext) {
    stopTimers()
  }

  func channelInactive(context: ChannelHandlerContext) {
    stopTimers()
    context.fireChannelInactive()
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    if idleTimeout != nil { lastActive = .now() }
    if closing || (rejected != nil && !readingRequest) { return }  // nothing after a refused request is served
    switch unwrapInboundIn(data) {
    case .head(let head):
      handshakeTimer?.cancel()
      handshakeTimer = nil
      if let refused = refusal?(head) {
        let rejection = GatewayError(refused)
        if open == 0 { reject(rejection, context: context) } else { rejected = rejection }
        return
      }
      open += 1
      readingRequest = true
    case .body:
      break
    case .end:
      readingRequest = false
    }
    context.fireChannelRead(data)
  }

  func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
    guard case .end = unwrapOutboundIn(data) else { return context.write(data, promise: promise) }
    open -= 1
    context.write(data, promise: promise)
    if open == 0, let rejected { return reject(rejected, context: context) }
    if idleTimeout != nil, !responding {
      lastActive = .now()
      scheduleIdleCheck(context)
    }
  }

  /// Whether a response has yet to end (a request still being read may have none yet).
  private var responding: Bool { open > (readingRequest ? 1 : 0) }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    if closing || rejected != nil { return }  // the decoder's later complaints about the same bytes
    guard error is HTTPParserError, !readingRequest else { return context.fireErrorCaught(error) }
    let rejection = GatewayError(error)
    if open == 0 { reject(rejection, context: context) } else { rejected = rejection }
  }

  /// Answers a malformed request and ends the connection: the output is closed once
  /// the answer is out and the rest a second later (or when the client closes), so
  /// that the bytes still coming in do not reset the connection before the client has
  /// read the answer.
  private func reject(_ rejection: GatewayError, context: ChannelHandlerContext) {
    closing = true
    var reply = rejection.reply
    reply.headers[.connection] = "close"
    response.write(reply, to: context)
    context.flush()
    let closed = context.eventLoop.makePromise(of: Void.self)
    context.close(mode: .output, promise: closed)
    closed.futureResult.assumeIsolated().whenFailure { _ in context.close(promise: nil) }  // no half-closure
    timer?.cancel()
    timer = context.eventLoop.assumeIsolated().scheduleTask(in: Self.linger) { context.close(promise: nil) }
  }

  private static let linger = TimeAmount.seconds(1)

  private func handshakeTimedOut(_ context: ChannelHandlerContext) {
    handshakeTimer = nil
    guard !closing else { return }
    let timeout = GatewayError(
      code: .deadlineExceeded, message: "no request arrived within the handshake timeout", status: .requestTimeout)
    reject(timeout, context: context)
  }

  private func stopTimers() {
    timer?.cancel()
    timer = nil
    handshakeTimer?.cancel()
    handshakeTimer = nil
  }

  private func scheduleIdleCheck(_ context: ChannelHandlerContext) {
    guard let idleTimeout, timer == nil else { return }
    timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: lastActive + idleTimeout) {
      self.checkIdle(context)
    }
  }

  private func checkIdle(_ context: ChannelHandlerContext) {
    timer = nil
    guard let idleTimeout, !closing else { return }
    if responding { return }  // the response's end schedules the next check
    if NIODeadline.now() >= lastActive + idleTimeout {
      closing = true
      context.close(promise: nil)
    } else {
      scheduleIdleCheck(context)
    }
  }
}
