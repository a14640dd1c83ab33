import Foundation
import NIOCore

/// The fan-out floor: what one update's fan-out costs on this machine with no protocol
/// and no server framework — `--serve-floor` writes 100 bytes to each watcher's
/// connection, one `write` each, in a plain loop; `--system floor` times it with the same
/// client as the real systems. Every connection's first byte says what it is: `w` a
/// watcher, `t` the trigger. Once all are there the server sends the trigger `r`; then
/// each byte the trigger sends is a round, acknowledged with one byte once written.
enum Floor {
  static let eventSize = 100

  /// Serves `watchers` watchers and one trigger at `host:port` until the trigger closes.
  static func serve(host: String, port: Int, watchers: Int) throws -> Never {
    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var yes: Int32 = 1
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    inet_pton(AF_INET, host, &address.sin_addr)
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0, listen(listener, 4096) == 0 else { throw BenchError("cannot listen on \(host):\(port)") }
    var watcherSockets: [Int32] = []
    var trigger: Int32?
    var byte: UInt8 = 0
    while watcherSockets.count < watchers || trigger == nil {
      let connection = accept(listener, nil, nil)
      guard connection >= 0 else { throw BenchError("accept failed") }
      guard read(connection, &byte, 1) == 1 else {  // a probe of the port (wait_port)
        close(connection)
        continue
      }
      setsockopt(connection, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
      if byte == UInt8(ascii: "t") { trigger = connection } else { watcherSockets.append(connection) }
    }
    let event = [UInt8](repeating: UInt8(ascii: "x"), count: eventSize)
    byte = UInt8(ascii: "r")
    write(trigger!, &byte, 1)
    while read(trigger!, &byte, 1) == 1 {
      for connection in watcherSockets { _ = write(connection, event, event.count) }
      write(trigger!, &byte, 1)
    }
    exit(0)
  }
}

/// A floor watcher's connection: every 100 bytes from the server are an event.
final class FloorWatcher: ChannelInboundHandler {
  typealias InboundIn = ByteBuffer
  typealias OutboundOut = ByteBuffer

  private let index: Int
  private let recorder: Recorder
  private var unread = 0

  init(index: Int, recorder: Recorder) { (self.index, self.recorder) = (index, recorder) }

  func channelActive(context: ChannelHandlerContext) {
    context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "w")), promise: nil)
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    unread += unwrapInboundIn(data).readableBytes
    while unread >= Floor.eventSize {
      unread -= Floor.eventSize
      recorder.eventArrived(at: index)
    }
  }
}

/// The floor's trigger connection: `ready` once the server has every watcher; each
/// `round` completes when the server has written that round's events.
final class FloorTrigger: ChannelInboundHandler, @unchecked Sendable {  // used on its loop only
  typealias InboundIn = ByteBuffer
  typealias OutboundOut = ByteBuffer

  let ready: EventLoopPromise<Void>
  private var context: ChannelHandlerContext?
  private var isReady = false
  private var rounds: [EventLoopPromise<Void>] = []

  init(on loop: any EventLoop) { ready = loop.makePromise() }

  func channelActive(context: ChannelHandlerContext) {
    self.context = context
    context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "t")), promise: nil)
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    for _ in 0..<unwrapInboundIn(data).readableBytes {
      if isReady { rounds.removeFirst().succeed() } else { isReady = true; ready.succeed() }
    }
  }

  func round(promise: EventLoopPromise<Void>) {
    guard let context else { return promise.fail(ChannelError.ioOnClosedChannel) }
    rounds.append(promise)
    context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "t")), promise: nil)
  }
}
