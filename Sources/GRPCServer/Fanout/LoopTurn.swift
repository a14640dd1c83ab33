import NIOCore
import NIOPosix

#if canImport(Glibc)
  import Glibc
#endif

/// Runs work on an event loop once the loop has next looked at its sockets. NIO runs
/// every task that is due, even one that a running task scheduled, before it looks at
/// its sockets again, so work that reschedules itself as a task keeps every read and
/// write on the loop waiting until it is all done. A byte through a pipe of the loop's
/// own is an I/O event like any other: the work runs in the next turn, after the reads.
final class LoopTurn: Sendable {
  private let eventLoop: any EventLoop
  /// The pipe, once registered; until then, once closed (the loop is shutting down) or
  /// on a loop without sockets (as in tests), the work is scheduled a little later
  /// instead.
  private let pipe: NIOLoopBoundBox<(any Channel)?>
  private let waiting: NIOLoopBoundBox<(@Sendable () -> Void)?>

  init(on eventLoop: any EventLoop) {
    self.eventLoop = eventLoop
    pipe = .makeEmptyBox(valueType: (any Channel).self, eventLoop: eventLoop)
    waiting = .makeEmptyBox(valueType: (@Sendable () -> Void).self, eventLoop: eventLoop)
    openPipe()
  }

  /// Runs `work` after the loop's next look at its sockets, instead of any work asked
  /// for before that has not run yet. On the loop.
  func next(_ work: @escaping @Sendable () -> Void) {
    guard let pipe = pipe.value, pipe.isActive else {
      eventLoop.scheduleTask(in: .microseconds(20), work)
      return
    }
    let asked = waiting.value != nil
    waiting.value = work
    if !asked { pipe.writeAndFlush(ByteBuffer(integer: UInt8(1)), promise: nil) }
  }

  private func run() {
    let work = waiting.value
    waiting.value = nil
    work?()
  }

  private func openPipe() {
    guard let bootstrap = NIOPipeBootstrap(validatingGroup: eventLoop) else { return }
    var ends: [CInt] = [0, 0]
    guard Glibc.pipe(&ends) == 0 else { return }
    for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }  // NIO makes them non-blocking
    bootstrap
      .channelInitializer { channel in
        channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Reader(self)) }
      }
      .takingOwnershipOfDescriptors(input: ends[0], output: ends[1])
      .whenSuccess { channel in self.pipe.value = channel }
  }

  /// Runs the waiting work once per read, however many bytes it found.
  private final class Reader: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    unowned let turn: LoopTurn
    init(_ turn: LoopTurn) { self.turn = turn }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
    func channelReadComplete(context: ChannelHandlerContext) { turn.run() }
  }
}
