import NIOCore
import NIOHPACK
import NIOHTTP2

enum System: String {
  case etcd
  case keyquarryGRPC = "keyquarry-grpc"
  case keyquarrySSE = "keyquarry-sse"
  /// No server framework, no protocol: see `Floor`.
  case floor
}

/// When each watcher got each round's event. Every connection lives on the one event
/// loop this is used on, so it needs no lock.
final class Recorder: @unchecked Sendable {
  let watchers: Int
  /// Watchers whose watch the server confirmed (etcd's `created`).
  let allCreated: EventLoopPromise<Void>
  let roundsDone: [EventLoopPromise<Void>]
  var armed = false
  private(set) var arrivals: [[UInt64]]
  private var created = 0
  private var received: [Int]

  init(watchers: Int, rounds: Int, loop: any EventLoop) {
    self.watchers = watchers
    allCreated = loop.makePromise()
    roundsDone = (0..<rounds).map { _ in loop.makePromise() }
    arrivals = Array(repeating: [], count: watchers)
    received = Array(repeating: 0, count: rounds)
  }

  func watchCreated() {
    created += 1
    if created == watchers { allCreated.succeed() }
  }

  func eventArrived(at watcher: Int) {
    guard armed else { return }
    let round = arrivals[watcher].count
    arrivals[watcher].append(NIODeadline.now().uptimeNanoseconds)
    guard round < received.count else { return }
    received[round] += 1
    if received[round] == watchers { roundsDone[round].succeed() }
  }
}

/// The gRPC watches of one connection (HTTP/2 in frame mode), one stream each:
/// streams 1, 3, 5, … for watchers `indices`.
final class GRPCWatchers: ChannelInboundHandler {
  typealias InboundIn = HTTP2Frame
  typealias OutboundOut = HTTP2Frame

  private let system: System
  private let recorder: Recorder
  private let headers: HPACKHeaders
  private let request: ByteBuffer
  private var watchers: [HTTP2StreamID: (index: Int, splitter: MessageSplitter)] = [:]

  init(indices: Range<Int>, system: System, recorder: Recorder, headers: HPACKHeaders, request: ByteBuffer) {
    (self.system, self.recorder, self.headers, self.request) = (system, recorder, headers, request)
    for (offset, index) in indices.enumerated() {
      watchers[HTTP2StreamID(1 + 2 * offset)] = (index, MessageSplitter())
    }
  }

  func channelActive(context: ChannelHandlerContext) {
    for stream in watchers.keys.sorted() {
      context.write(wrapOutboundOut(HTTP2Frame(streamID: stream, payload: .headers(.init(headers: headers)))), promise: nil)
      // etcd's watch is a bidirectional stream: it stays open.
      let data = HTTP2Frame.FramePayload.Data(data: .byteBuffer(request), endStream: system != .etcd)
      context.write(wrapOutboundOut(HTTP2Frame(streamID: stream, payload: .data(data))), promise: nil)
    }
    context.write(wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: 1 << 30))), promise: nil)
    context.flush()
    context.fireChannelActive()
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    let frame = unwrapInboundIn(data)
    guard case .data(let payload) = frame.payload, case .byteBuffer(let bytes) = payload.data,
      let index = watchers[frame.streamID]?.index
    else { return }
    for message in watchers[frame.streamID]!.splitter.append(bytes) {
      guard system == .etcd else {
        recorder.eventArrived(at: index)
        continue
      }
      let fields = Wire.fieldNumbers(message)  // WatchResponse: created = 3, events = 11
      if fields.contains(11) {
        recorder.eventArrived(at: index)
      } else if fields.contains(3) {
        recorder.watchCreated()
      }
    }
  }
}

/// One SSE stream on its own HTTP/1.1 connection: each `data:` line is an event.
final class SSEWatcher: ChannelInboundHandler {
  typealias InboundIn = ByteBuffer
  typealias OutboundOut = ByteBuffer

  private let index: Int
  private let recorder: Recorder
  private let request: ByteBuffer
  private var lineStart: [UInt8] = []

  init(index: Int, recorder: Recorder, request: ByteBuffer) {
    (self.index, self.recorder, self.request) = (index, recorder, request)
  }

  func channelActive(context: ChannelHandlerContext) {
    context.writeAndFlush(wrapOutboundOut(request), promise: nil)
    context.fireChannelActive()
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    for byte in unwrapInboundIn(data).readableBytesView {
      if byte == UInt8(ascii: "\n") {
        if lineStart.elementsEqual("data:".utf8) { recorder.eventArrived(at: index) }
        lineStart.removeAll(keepingCapacity: true)
      } else if lineStart.count < 5 {
        lineStart.append(byte)
      }
    }
  }
}

/// Unary gRPC calls on one connection, one stream each; a call's future completes with
/// its trailers and fails unless `grpc-status` is 0.
final class UnaryCaller: ChannelInboundHandler, @unchecked Sendable {  // used on its channel's loop only
  typealias InboundIn = HTTP2Frame
  typealias OutboundOut = HTTP2Frame

  private var context: ChannelHandlerContext?
  private var nextStream = HTTP2StreamID(1)
  private var pending: [HTTP2StreamID: EventLoopPromise<Void>] = [:]
  private var unacknowledged = 0

  func handlerAdded(context: ChannelHandlerContext) { self.context = context }

  func call(headers: HPACKHeaders, body: ByteBuffer, promise: EventLoopPromise<Void>) {
    guard let context else { return promise.fail(ChannelError.ioOnClosedChannel) }
    let stream = nextStream
    nextStream = stream.advanced(by: 2)
    pending[stream] = promise
    context.write(wrapOutboundOut(HTTP2Frame(streamID: stream, payload: .headers(.init(headers: headers)))), promise: nil)
    let data = HTTP2Frame.FramePayload.Data(data: .byteBuffer(body), endStream: true)
    context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: stream, payload: .data(data))), promise: nil)
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    let frame = unwrapInboundIn(data)
    if case .data(let data) = frame.payload { return received(data.data.readableBytes, context: context) }
    guard case .headers(let headers) = frame.payload, headers.endStream,
      let promise = pending.removeValue(forKey: frame.streamID)
    else { return }
    if headers.headers.first(name: "grpc-status") == "0" {
      promise.succeed()
    } else {
      promise.fail(BenchError("call failed: \(headers.headers)"))
    }
  }

  /// Gives the server back the connection's window as responses arrive: in frame mode
  /// NIO leaves that to the handler, and a run of calls would stall after 64 KiB.
  private func received(_ bytes: Int, context: ChannelHandlerContext) {
    unacknowledged += bytes
    guard unacknowledged >= 1 << 15 else { return }
    context.writeAndFlush(
      wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: unacknowledged))),
      promise: nil)
    unacknowledged = 0
  }
}

/// A plain HTTP/1.1 GET: the response body, once Content-Length bytes of it have come.
final class HTTPGetter: ChannelInboundHandler {
  typealias InboundIn = ByteBuffer
  typealias OutboundOut = ByteBuffer

  private let request: ByteBuffer
  private let done: EventLoopPromise<String>
  private var received = ""

  init(request: ByteBuffer, done: EventLoopPromise<String>) { (self.request, self.done) = (request, done) }

  func channelActive(context: ChannelHandlerContext) {
    context.writeAndFlush(wrapOutboundOut(request), promise: nil)
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    received += String(buffer: unwrapInboundIn(data))
    guard let split = received.range(of: "\r\n\r\n") else { return }
    let head = received[..<split.lowerBound].lowercased()
    guard let field = head.range(of: "content-length: "),
      let length = Int(head[field.upperBound...].prefix { $0.isNumber }),
      received.utf8.count - received[..<split.upperBound].utf8.count >= length
    else { return }
    done.succeed(String(received[split.upperBound...]))
    context.close(promise: nil)
  }

  func channelInactive(context: ChannelHandlerContext) {
    done.fail(BenchError("the connection closed before the response was complete"))
  }
}

struct BenchError: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}
