import DequeModule
import NIOCore
import NIOHPACK

/// What an `HTTP2Session` tells the code that serves its streams, on the event loop,
/// while it reads.
protocol HTTP2StreamDelegate: AnyObject {
  /// A client opened a stream with these request headers.
  func opened(_ stream: StreamID, headers: HPACKHeaders, endStream: Bool)
  /// A client opened a stream with a header list of `size` bytes, over the advertised
  /// SETTINGS_MAX_HEADER_LIST_SIZE: the stream is open to answer it, the request is not read.
  func opened(_ stream: StreamID, oversizedHeaders size: Int, endStream: Bool)
  func received(data: ByteBuffer, endStream: Bool, on stream: StreamID)
  /// The client ended its request with trailers.
  func receivedTrailers(on stream: StreamID)
  /// The client reset the stream, or broke the protocol on it: its work can stop.
  func wasReset(_ stream: StreamID)
}

/// The server side of one HTTP/2 connection (RFC 9113) as a gRPC server needs it: frames,
/// stream states, flow control both ways, SETTINGS, PING, GOAWAY, and limits on what a
/// client may make it do. It answers control frames itself, hands request headers and
/// data to its delegate, and writes what the delegate sends, frame by frame, into one
/// buffer that goes to the socket in one write per flush (NIO's HTTP/2 handler passed
/// each frame down the pipeline on its own and was most of a unary call's cost).
/// Header blocks are decoded with NIOHPACK and encoded without a dynamic table.
final class HTTP2Session {
  struct Configuration {
    /// The receive window kept open per connection and per stream.
    var targetWindow: Int
    var maxConcurrentStreams: Int
    /// Advertised in SETTINGS: a request over it fails alone (`opened(_:oversizedHeaders:)`).
    var maxHeaderListSize: Int
    /// Client resets (RST_STREAM) allowed per window before the connection is closed.
    var resetLimit: (count: Int, window: TimeAmount)
    /// SETTINGS and PING frames allowed per window.
    var controlFrameLimit: (count: Int, window: TimeAmount)
  }

  /// A header block is decoded up to 16 times the advertised list size (so that HPACK's
  /// state stays whole when one request is refused); a block larger, before or after
  /// decoding, is a flood that ends the connection.
  private static let headerBlockLimitFactor = 16

  /// RFC 9113 §6.9.1.
  private static let maxWindow = Int(Int32.max)
  private static let defaultWindow = 65_535
  /// Payloads up to this size are copied into the write buffer; larger ones are written
  /// as they are, after it.
  private static let copyLimit = 1 << 12
  /// The write buffer is kept between flushes up to this capacity.
  private static let keptCapacity = 1 << 16

  private let configuration: Configuration
  /// The connection handler that owns this session, so it outlives it.
  private unowned(unsafe) let delegate: any HTTP2StreamDelegate
  private var context: ChannelHandlerContext?
  private var reader = FrameReader()
  private var decoder: HPACKDecoder
  private var streams: [StreamID: HTTP2Stream] = [:]
  /// Streams with data ready and send window left, waiting for the connection's window.
  private var waiting = Deque<StreamID>()
  /// The highest stream the client has opened: every lower one not in `streams` is closed.
  private var highestStream: StreamID = 0
  /// A HEADERS frame without END_HEADERS: its stream, END_STREAM and the block so far.
  private var continuation: (stream: StreamID, endStream: Bool, block: ByteBuffer)?
  private var settingsReceived = false
  private var peerInitialWindow = HTTP2Session.defaultWindow
  private var peerMaxFrameSize = Frame.defaultMaxSize
  private var sendWindow = HTTP2Session.defaultWindow
  private var receiveWindow = HTTP2Session.defaultWindow
  private var tableSizeUpdatePending = false
  private var resets: RateLimit
  private var controlFrames: RateLimit
  /// GOAWAY sent: streams the client opens after it are refused.
  private var goingAway = false
  private var failed = false

  private var out = ByteBuffer()
  private var outPromises: [EventLoopPromise<Void>] = []
  /// Written to the channel, not yet flushed.
  private var unflushed = false
  private var reading = false
  private var flushScheduled = false

  init(configuration: Configuration, delegate: any HTTP2StreamDelegate) {
    self.configuration = configuration
    self.delegate = delegate
    decoder = HPACKDecoder(
      allocator: ByteBufferAllocator(), maxDynamicTableSize: HPACKDecoder.maxDynamicTableSize,
      maxHeaderListSize: Self.headerBlockLimitFactor * configuration.maxHeaderListSize)
    resets = RateLimit(count: configuration.resetLimit.count, window: configuration.resetLimit.window)
    controlFrames = RateLimit(
      count: configuration.controlFrameLimit.count, window: configuration.controlFrameLimit.window)
  }

  /// The client has sent its connection preface and SETTINGS.
  var started: Bool { settingsReceived }

  /// Open streams, those whose last frames wait for flow control included.
  var openStreams: Int { streams.count }

  /// Sends the server's connection preface: its SETTINGS and the connection window.
  func start(_ context: ChannelHandlerContext) {
    guard self.context == nil else { return }
    self.context = context
    out = newOut(context)
    let settings: [(UInt16, Int)] = [
      (3, configuration.maxConcurrentStreams), (4, configuration.targetWindow), (5, Frame.defaultMaxSize),
      (6, configuration.maxHeaderListSize),
    ]
    Frame.writeHeader(.settings, stream: 0, length: settings.count * 6, to: &out)
    for (id, value) in settings {
      out.writeInteger(id)
      out.writeInteger(UInt32(value))
    }
    writeWindowUpdate(configuration.targetWindow - receiveWindow, on: 0)
    receiveWindow = configuration.targetWindow
    flush()
  }

  /// The connection has gone: what waited to be sent never will be.
  func stop() {
    for stream in streams.values { stream.dropPending() }
    streams.removeAll()
    for promise in outPromises { promise.fail(ChannelError.ioOnClosedChannel) }
    outPromises.removeAll()
    context = nil
  }

  // MARK: Reading

  func read(_ bytes: ByteBuffer) {
    guard !failed else { return }
    reading = true
    reader.append(bytes)
    do {
      while !failed, let frame = try reader.next() { try handle(frame) }
    } catch {
      fail(error)
    }
  }

  /// The end of a read: what it made the server send goes out.
  func readComplete() {
    reading = false
    flush()
  }

  private func handle(_ frame: Frame) throws(ConnectionError) {
    if let continuation, frame.type != FrameType.continuation.rawValue || frame.stream != continuation.stream {
      throw ConnectionError(.protocolError, "a header block was interrupted")
    }
    guard settingsReceived || frame.type == FrameType.settings.rawValue else {
      throw ConnectionError(.protocolError, "the first frame must be SETTINGS")
    }
    switch FrameType(rawValue: frame.type) {
    case .data: try receiveData(frame)
    case .headers: try receiveHeaders(frame)
    case .continuation: try receiveContinuation(frame)
    case .priority:
      guard frame.stream != 0 else { throw ConnectionError(.protocolError, "PRIORITY on stream 0") }
      guard frame.payload.readableBytes == 5 else { throw ConnectionError(.frameSizeError, "PRIORITY size") }
    case .rstStream: try receiveReset(frame)
    case .settings: try receiveSettings(frame)
    case .pushPromise: throw ConnectionError(.protocolError, "a client sent PUSH_PROMISE")
    case .ping: try receivePing(frame)
    case .goAway:
      guard frame.stream == 0 else { throw ConnectionError(.protocolError, "GOAWAY on a stream") }
    case .windowUpdate: try receiveWindowUpdate(frame)
    case nil: break  // unknown frame types are ignored (RFC 9113 §4.1)
    }
  }

  /// The stream a frame names, nil for a closed one (whose late frames are ignored).
  private func stream(_ id: StreamID, of type: FrameType) throws(ConnectionError) -> HTTP2Stream? {
    guard id != 0 else { throw ConnectionError(.protocolError, "\(type) on stream 0") }
    if let stream = streams[id] { return stream }
    guard id <= highestStream else { throw ConnectionError(.protocolError, "\(type) on idle stream \(id)") }
    return nil
  }

  private func receiveData(_ frame: Frame) throws(ConnectionError) {
    var payload = frame.payload
    let length = payload.readableBytes
    receiveWindow -= length
    guard receiveWindow >= 0 else { throw ConnectionError(.flowControlError, "the connection window overflowed") }
    if receiveWindow <= configuration.targetWindow / 2 {
      writeWindowUpdate(configuration.targetWindow - receiveWindow, on: 0)
      receiveWindow = configuration.targetWindow
    }
    guard let stream = try stream(frame.stream, of: .data) else { return }
    if frame.has(FrameFlag.padded) { try stripPadding(&payload) }
    guard !stream.remoteEnded else { return resetStream(stream, .streamClosed) }
    stream.receiveWindow -= length
    guard stream.receiveWindow >= 0 else { return resetStream(stream, .flowControlError) }
    let endStream = frame.has(FrameFlag.endStream)
    if endStream {
      stream.remoteEnded = true
    } else if stream.receiveWindow <= configuration.targetWindow / 2 {
      writeWindowUpdate(configuration.targetWindow - stream.receiveWindow, on: stream.id)
      stream.receiveWindow = configuration.targetWindow
    }
    delegate.received(data: payload, endStream: endStream, on: stream.id)
    closeIfDone(stream)
  }

  private func receiveHeaders(_ frame: Frame) throws(ConnectionError) {
    guard frame.stream != 0 else { throw ConnectionError(.protocolError, "HEADERS on stream 0") }
    var block = frame.payload
    if frame.has(FrameFlag.padded) { try stripPadding(&block) }
    if frame.has(FrameFlag.priority) {
      guard block.readableBytes >= 5 else { throw ConnectionError(.frameSizeError, "HEADERS priority size") }
      block.moveReaderIndex(forwardBy: 5)
    }
    let endStream = frame.has(FrameFlag.endStream)
    guard frame.has(FrameFlag.endHeaders) else {
      continuation = (frame.stream, endStream, block)
      return
    }
    try received(block: &block, endStream: endStream, on: frame.stream)
  }

  private func receiveContinuation(_ frame: Frame) throws(ConnectionError) {
    guard let (stream, endStream, previous) = continuation else {
      throw ConnectionError(.protocolError, "CONTINUATION without HEADERS")
    }
    var block = previous
    var payload = frame.payload
    block.writeBuffer(&payload)
    guard block.readableBytes <= Self.headerBlockLimitFactor * configuration.maxHeaderListSize else {
      throw ConnectionError(.enhanceYourCalm, "a header block over \(block.readableBytes) bytes")
    }
    guard frame.has(FrameFlag.endHeaders) else {
      continuation = (stream, endStream, block)
      return
    }
    continuation = nil
    try received(block: &block, endStream: endStream, on: stream)
  }

  /// A whole header block: a new stream's request headers, or a stream's trailers.
  private func received(block: inout ByteBuffer, endStream: Bool, on id: StreamID) throws(ConnectionError) {
    let headers: HPACKHeaders
    do {
      headers = try decoder.decodeHeaders(from: &block)  // even for a refused stream: HPACK has state
    } catch is NIOHPACKErrors.MaxHeaderListSizeViolation {
      throw ConnectionError(.enhanceYourCalm, "a header list over \(decoder.maxHeaderListSize) bytes")
    } catch {
      throw ConnectionError(.compressionError, "the header block could not be decoded: \(error)")
    }
    if let stream = streams[id] {
      guard !stream.remoteEnded else { return resetStream(stream, .streamClosed) }
      guard endStream else { return resetStream(stream, .protocolError) }  // trailers end the request
      stream.remoteEnded = true
      delegate.receivedTrailers(on: id)
      return closeIfDone(stream)
    }
    guard id & 1 == 1 else { throw ConnectionError(.protocolError, "a client opened even stream \(id)") }
    guard id > highestStream else { return }  // a closed stream's late trailers
    highestStream = id
    guard !goingAway, streams.count < configuration.maxConcurrentStreams else {
      return writeReset(id, .refusedStream)
    }
    let stream = HTTP2Stream(
      id: id, receiveWindow: configuration.targetWindow, sendWindow: peerInitialWindow, remoteEnded: endStream)
    streams[id] = stream
    let size = headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 32 }  // RFC 9113 §6.5.2
    if size > configuration.maxHeaderListSize {
      delegate.opened(id, oversizedHeaders: size, endStream: endStream)
    } else {
      delegate.opened(id, headers: headers, endStream: endStream)
    }
    closeIfDone(stream)
  }

  private func stripPadding(_ payload: inout ByteBuffer) throws(ConnectionError) {
    guard let padding = payload.readInteger(as: UInt8.self), Int(padding) <= payload.readableBytes else {
      throw ConnectionError(.protocolError, "padding longer than the frame")
    }
    payload = payload.getSlice(at: payload.readerIndex, length: payload.readableBytes - Int(padding))!
  }

  private func receiveReset(_ frame: Frame) throws(ConnectionError) {
    guard frame.payload.readableBytes == 4 else { throw ConnectionError(.frameSizeError, "RST_STREAM size") }
    let stream = try stream(frame.stream, of: .rstStream)
    guard resets.allow() else { throw ConnectionError(.enhanceYourCalm, "too many stream resets") }
    guard let stream else { return }
    remove(stream)
    delegate.wasReset(stream.id)
  }

  private func receiveSettings(_ frame: Frame) throws(ConnectionError) {
    guard frame.stream == 0 else { throw ConnectionError(.protocolError, "SETTINGS on a stream") }
    guard controlFrames.allow() else { throw ConnectionError(.enhanceYourCalm, "too many SETTINGS and PINGs") }
    var payload = frame.payload
    if frame.has(FrameFlag.ack) {
      guard payload.readableBytes == 0 else { throw ConnectionError(.frameSizeError, "SETTINGS ACK with a payload") }
      return
    }
    guard payload.readableBytes % 6 == 0 else { throw ConnectionError(.frameSizeError, "SETTINGS size") }
    var windowsOpened = false
    while let id = payload.readInteger(as: UInt16.self), let raw = payload.readInteger(as: UInt32.self) {
      let value = Int(raw)
      switch id {
      case 1 where value < HPACKDecoder.maxDynamicTableSize:
        tableSizeUpdatePending = true
      case 2 where value > 1:
        throw ConnectionError(.protocolError, "SETTINGS_ENABLE_PUSH \(value)")
      case 4:
        guard value <= Self.maxWindow else { throw ConnectionError(.flowControlError, "initial window \(value)") }
        let delta = value - peerInitialWindow
        peerInitialWindow = value
        for stream in streams.values {
          stream.sendWindow += delta
          guard stream.sendWindow <= Self.maxWindow else {
            throw ConnectionError(.flowControlError, "a stream window overflowed")
          }
        }
        windowsOpened = windowsOpened || delta > 0
      case 5:
        guard (Frame.defaultMaxSize...0xFF_FFFF).contains(value) else {
          throw ConnectionError(.protocolError, "SETTINGS_MAX_FRAME_SIZE \(value)")
        }
        peerMaxFrameSize = value
      default:
        break  // the others do not bind a server, and unknown ones are ignored
      }
    }
    settingsReceived = true
    Frame.writeHeader(.settings, flags: FrameFlag.ack, stream: 0, length: 0, to: &out)
    if windowsOpened {
      for stream in Array(streams.values) where !stream.pending.isEmpty { send(stream) }
    }
  }

  private func receivePing(_ frame: Frame) throws(ConnectionError) {
    guard frame.stream == 0 else { throw ConnectionError(.protocolError, "PING on a stream") }
    guard frame.payload.readableBytes == 8 else { throw ConnectionError(.frameSizeError, "PING size") }
    guard !frame.has(FrameFlag.ack) else { return }
    guard controlFrames.allow() else { throw ConnectionError(.enhanceYourCalm, "too many SETTINGS and PINGs") }
    var payload = frame.payload
    Frame.writeHeader(.ping, flags: FrameFlag.ack, stream: 0, length: 8, to: &out)
    out.writeBuffer(&payload)
  }

  private func receiveWindowUpdate(_ frame: Frame) throws(ConnectionError) {
    var payload = frame.payload
    guard payload.readableBytes == 4, let raw = payload.readInteger(as: UInt32.self) else {
      throw ConnectionError(.frameSizeError, "WINDOW_UPDATE size")
    }
    let increment = Int(raw & 0x7FFF_FFFF)
    if frame.stream == 0 {
      guard increment > 0 else { throw ConnectionError(.protocolError, "a connection WINDOW_UPDATE of 0") }
      sendWindow += increment
      guard sendWindow <= Self.maxWindow else { throw ConnectionError(.flowControlError, "the window overflowed") }
      return sendWaiting()
    }
    guard let stream = try stream(frame.stream, of: .windowUpdate) else { return }
    guard increment > 0 else { return resetStream(stream, .protocolError) }
    stream.sendWindow += increment
    guard stream.sendWindow <= Self.maxWindow else { return resetStream(stream, .flowControlError) }
    send(stream)
  }

  // MARK: Writing

  /// Sends a header block; trailers (`endStream`) wait behind the data flow control holds.
  func sendHeaders(
    _ block: HeaderBlock, on id: StreamID, endStream: Bool = false, promise: EventLoopPromise<Void>? = nil
  ) {
    guard let stream = streams[id], !stream.localEnded else {
      promise?.fail(ChannelError.outputClosed)
      return
    }
    stream.localEnded = endStream
    if stream.pending.isEmpty {
      writeHeaders(block, on: id, endStream: endStream, promise: promise)
      closeIfDone(stream)
    } else {
      stream.pending.append(.headers(block, endStream: endStream, promise))
    }
  }

  enum Sent {
    /// The stream is gone (reset, or ended by this server).
    case gone
    /// In the write buffer, for the next flush.
    case buffered
    /// Held back, all or part of it, until the client opens its flow-control window.
    case held
  }

  /// Sends a DATA payload only if no window holds it back: `buffered`, or `gone`, or nil
  /// when it would wait (and nothing is sent), so that only then a promise is made.
  func sendDataAtOnce(_ bytes: ByteBuffer, on id: StreamID) -> Sent? {
    guard let stream = streams[id], !stream.localEnded else { return .gone }
    guard fits(bytes.readableBytes, stream) else { return nil }
    stream.sendWindow -= bytes.readableBytes
    sendWindow -= bytes.readableBytes
    writeData(bytes, on: id, promise: nil)
    return .buffered
  }

  private func fits(_ length: Int, _ stream: HTTP2Stream) -> Bool {
    stream.pending.isEmpty && length <= stream.sendWindow && length <= sendWindow && length <= peerMaxFrameSize
  }

  /// Sends a DATA payload on a stream whose headers have gone; `promise` completes once
  /// the last of it has been written to the socket.
  @discardableResult
  func sendData(_ bytes: ByteBuffer, on id: StreamID, promise: EventLoopPromise<Void>? = nil) -> Sent {
    guard let stream = streams[id], !stream.localEnded else {
      promise?.fail(ChannelError.outputClosed)
      return .gone
    }
    if fits(bytes.readableBytes, stream) {
      stream.sendWindow -= bytes.readableBytes
      sendWindow -= bytes.readableBytes
      writeData(bytes, on: id, promise: promise)
      return .buffered
    }
    stream.pending.append(.data(bytes, promise))
    send(stream)
    return stream.pending.isEmpty ? .buffered : .held
  }

  /// Resets a stream. NO_ERROR (the response is whole; the rest of the request is not
  /// wanted) waits for the response's last frames; any other code drops them.
  func reset(_ id: StreamID, _ code: HTTP2ErrorCode) {
    guard let stream = streams[id] else { return }
    if code == .noError, !stream.pending.isEmpty {
      stream.resetWhenSent = true
      return
    }
    remove(stream)
    writeReset(id, code)
  }

  /// Graceful shutdown: no stream after the last one opened will be served.
  func goAway() {
    guard !goingAway else { return }
    goingAway = true
    writeGoAway(.noError, reason: "")
  }

  func ping(_ data: UInt64) {
    Frame.writeHeader(.ping, stream: 0, length: 8, to: &out)
    out.writeInteger(data)
  }

  /// Writes the buffer to the socket and flushes; cheap when nothing was written.
  func flush() {
    guard let context else { return }
    if out.readableBytes > 0 {
      context.writeAndFlush(NIOAny(out), promise: takeOutPromise(context))
      // The socket usually takes the bytes at once and NIO lets go of them, so the
      // buffer is reused (`clear` makes a new one if NIO still holds it).
      if out.capacity <= Self.keptCapacity { out.clear() } else { out = newOut(context) }
    } else if unflushed {
      context.flush()
    }
    unflushed = false
  }

  /// Flushes at the end of the read under way, or else in a later turn of the loop, so
  /// that writes from many tasks (a forwarded call's parts, fanned-out events) share one.
  func flushSoon() {
    guard !reading, !flushScheduled, let context else { return }
    flushScheduled = true
    let session = NIOLoopBound(self, eventLoop: context.eventLoop)
    context.eventLoop.execute {
      session.value.flushScheduled = false
      session.value.flush()
    }
  }

  /// Writes the buffer without flushing (before a payload that is written on its own).
  private func writeOut(_ context: ChannelHandlerContext) {
    context.write(NIOAny(out), promise: takeOutPromise(context))
    unflushed = true
    out = newOut(context)
  }

  private func newOut(_ context: ChannelHandlerContext) -> ByteBuffer {
    context.channel.allocator.buffer(capacity: 1 << 10)
  }

  /// One promise for the writers of what `out` holds.
  private func takeOutPromise(_ context: ChannelHandlerContext) -> EventLoopPromise<Void>? {
    defer { outPromises.removeAll(keepingCapacity: true) }
    switch outPromises.count {
    case 0: return nil
    case 1: return outPromises[0]
    default:
      let all = outPromises
      let promise = context.eventLoop.makePromise(of: Void.self)
      promise.futureResult.whenComplete { result in
        for each in all { each.completeWith(result) }
      }
      return promise
    }
  }

  /// Writes a stream's held frames as far as the windows let it.
  private func send(_ stream: HTTP2Stream) {
    while let output = stream.pending.first {
      switch output {
      case .headers(let block, let endStream, let promise):
        stream.pending.removeFirst()
        writeHeaders(block, on: stream.id, endStream: endStream, promise: promise)
      case .data(var bytes, let promise):
        let length = min(bytes.readableBytes, max(0, min(stream.sendWindow, sendWindow)), peerMaxFrameSize)
        guard length > 0 || bytes.readableBytes == 0 else {
          if sendWindow <= 0, stream.sendWindow > 0, !stream.waitsForConnection {
            stream.waitsForConnection = true
            waiting.append(stream.id)
          }
          return
        }
        let chunk = bytes.readSlice(length: length)!
        stream.sendWindow -= length
        sendWindow -= length
        if bytes.readableBytes == 0 {
          stream.pending.removeFirst()
          writeData(chunk, on: stream.id, promise: promise)
        } else {
          stream.pending[0] = .data(bytes, promise)
          writeData(chunk, on: stream.id, promise: nil)
        }
      }
    }
    if stream.resetWhenSent {
      remove(stream)
      writeReset(stream.id, .noError)
    } else {
      closeIfDone(stream)
    }
  }

  /// The connection's window has opened: the streams waiting for it go on, in turn.
  private func sendWaiting() {
    while sendWindow > 0, let id = waiting.popFirst() {
      guard let stream = streams[id] else { continue }
      stream.waitsForConnection = false
      send(stream)
    }
  }

  private func writeHeaders(_ block: HeaderBlock, on id: StreamID, endStream: Bool, promise: EventLoopPromise<Void>?) {
    let flags = endStream ? FrameFlag.endStream : 0
    let prefix = tableSizeUpdatePending ? 1 : 0
    tableSizeUpdatePending = false
    if block.bytes.readableBytes + prefix <= peerMaxFrameSize {
      Frame.writeHeader(
        .headers, flags: flags | FrameFlag.endHeaders, stream: id, length: block.bytes.readableBytes + prefix, to: &out)
      if prefix == 1 { out.writeInteger(HeaderBlock.emptyTable) }
      out.writeImmutableBuffer(block.bytes)
    } else {
      var rest = ByteBuffer()
      if prefix == 1 { rest.writeInteger(HeaderBlock.emptyTable) }
      rest.writeImmutableBuffer(block.bytes)
      var type = FrameType.headers
      var frameFlags = flags
      while true {
        var chunk = rest.readSlice(length: min(rest.readableBytes, peerMaxFrameSize))!
        let last = rest.readableBytes == 0
        Frame.writeHeader(
          type, flags: frameFlags | (last ? FrameFlag.endHeaders : 0), stream: id, length: chunk.readableBytes,
          to: &out)
        out.writeBuffer(&chunk)
        if last { break }
        type = .continuation
        frameFlags = 0
      }
    }
    if let promise { outPromises.append(promise) }
  }

  private func writeData(_ bytes: ByteBuffer, on id: StreamID, promise: EventLoopPromise<Void>?) {
    Frame.writeHeader(.data, stream: id, length: bytes.readableBytes, to: &out)
    if bytes.readableBytes <= Self.copyLimit || context == nil {
      out.writeImmutableBuffer(bytes)
      if let promise { outPromises.append(promise) }
    } else {
      writeOut(context!)
      context!.write(NIOAny(bytes), promise: promise)
      unflushed = true
    }
  }

  private func writeWindowUpdate(_ increment: Int, on id: StreamID) {
    Frame.writeHeader(.windowUpdate, stream: id, length: 4, to: &out)
    out.writeInteger(UInt32(increment))
  }

  private func writeReset(_ id: StreamID, _ code: HTTP2ErrorCode) {
    Frame.writeHeader(.rstStream, stream: id, length: 4, to: &out)
    out.writeInteger(code.rawValue)
  }

  private func writeGoAway(_ code: HTTP2ErrorCode, reason: String) {
    Frame.writeHeader(.goAway, stream: 0, length: 8 + reason.utf8.count, to: &out)
    out.writeInteger(highestStream)
    out.writeInteger(code.rawValue)
    out.writeString(reason)
  }

  // MARK: Ending streams and the connection

  /// A stream error (RFC 9113 §5.4.2): the stream is reset, the connection goes on.
  private func resetStream(_ stream: HTTP2Stream, _ code: HTTP2ErrorCode) {
    remove(stream)
    writeReset(stream.id, code)
    delegate.wasReset(stream.id)
  }

  private func closeIfDone(_ stream: HTTP2Stream) {
    if stream.isDone { streams.removeValue(forKey: stream.id) }
  }

  private func remove(_ stream: HTTP2Stream) {
    streams.removeValue(forKey: stream.id)
    stream.dropPending()
  }

  /// A connection error (RFC 9113 §5.4.1): GOAWAY with its code, then close. The output
  /// is closed first and what the client still sends is read and dropped for a second:
  /// closing a socket with bytes unread resets it, and the reset could overtake the GOAWAY.
  private func fail(_ error: ConnectionError) {
    failed = true
    writeGoAway(error.code, reason: error.reason)
    flush()
    guard let context else { return }
    let channel = context.channel
    let halfClosed = context.eventLoop.makePromise(of: Void.self)
    halfClosed.futureResult.whenFailure { _ in channel.close(promise: nil) }  // TLS cannot half-close
    context.close(mode: .output, promise: halfClosed)
    context.eventLoop.scheduleTask(in: .seconds(1)) { channel.close(promise: nil) }
  }
}
