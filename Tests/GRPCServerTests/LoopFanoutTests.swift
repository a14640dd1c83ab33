@testable import Core
import Foundation
@testable import GRPCServer
import NIOCore
import NIOEmbedded
import NIOPosix
import Synchronization
import Testing

/// A batch keeps each event once and its watchers point at it: publishers that
/// interleave on one loop still give every watcher its own events, in order, and every
/// watcher that got one is flushed after the batch's writes (a second flush of a watcher
/// costs nothing: nothing is left to flush).
@Suite struct LoopFanoutTests {
  @Test func interleavedPublishersGiveEachWatcherItsOwnEvents() {
    let loop = EmbeddedEventLoop()
    let fanout = LoopFanout.on(loop)
    let (a, b, c) = (Recorder(), Recorder(), Recorder())
    let five = event(5, "k5")
    let six = event(6, "k6")
    fanout.send(five, to: a)
    fanout.send(six, to: b)
    fanout.send(five, to: c)
    fanout.send(six, to: a)
    fanout.end(b, slow: true)
    loop.run()
    #expect(a.delivered == ["k5", "k6"] && a.flushedLast)
    #expect(b.delivered == ["k6", "end slow"] && b.flushedLast)
    #expect(c.delivered == ["k5"] && c.flushedLast)
  }

  /// A burst that takes longer than a slice to deliver goes out in slices, in order, with
  /// the loop's sockets served in between: a connection's bytes, already waiting when
  /// the burst starts, are read before the burst is done.
  @Test func aLongDrainLetsTheLoopReadItsSocketsBetweenSlices() async throws {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let loop = group.next()
    let fanout = LoopFanout.on(loop)  // registers its pipe while the connection is made
    let slow = Recorder(deliveryTime: .microseconds(50))
    let accepted = loop.makePromise(of: Void.self)
    let server = try await ServerBootstrap(group: group)
      .childChannelInitializer { $0.pipeline.addHandler(ReadRecorder(slow, active: accepted)) }
      .bind(host: "127.0.0.1", port: 0).get()
    let client = try await ClientBootstrap(group: group).connect(to: server.localAddress!).get()
    try await accepted.futureResult.get()
    let keys = (0..<200).map { "k\($0)" }
    try await loop.submit {
      for (sequence, key) in keys.enumerated() { fanout.send(self.event(UInt64(sequence), key), to: slow) }
      client.writeAndFlush(ByteBuffer(string: "x"), promise: nil)
    }.get()
    let deadline = ContinuousClock.now + .seconds(10)
    while slow.delivered.count <= keys.count, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
    try await client.close()
    try await server.close()
    try await group.shutdownGracefully()
    let delivered = slow.delivered
    #expect(delivered.filter { $0 != "read" } == keys)
    #expect(delivered.firstIndex(of: "read").map { $0 > 0 && $0 < keys.count } == true)
  }

  private func event(_ sequence: UInt64, _ key: String) -> Event {
    Event(sequence: sequence, key: key, kind: .updated, time: Date(), clientID: "test", snapshot: nil)
  }
}

/// Writes "read" in a recorder's log when its connection has bytes.
private final class ReadRecorder: ChannelInboundHandler, Sendable {
  typealias InboundIn = ByteBuffer
  let recorder: Recorder
  let active: EventLoopPromise<Void>
  init(_ recorder: Recorder, active: EventLoopPromise<Void>) { (self.recorder, self.active) = (recorder, active) }
  func channelActive(context: ChannelHandlerContext) { active.succeed() }
  func channelRead(context: ChannelHandlerContext, data: NIOAny) { recorder.log.withLock { $0.append("read") } }
}

/// A watcher that writes down what the fanout does with it.
private final class Recorder: FanoutDelivery {
  let log = Mutex<[String]>([])
  /// How long each delivery keeps the loop busy.
  let deliveryTime: Duration

  init(deliveryTime: Duration = .zero) { self.deliveryTime = deliveryTime }

  func deliver(_ event: inout EncodedEvent) {
    let start = ContinuousClock.now
    while ContinuousClock.now - start < deliveryTime {}
    log.withLock { $0.append(event.event.key) }
  }
  func close(slow: Bool) { log.withLock { $0.append(slow ? "end slow" : "end") } }
  func flush() { log.withLock { $0.append("flush") } }

  /// What reached the watcher, flushes left out.
  var delivered: [String] { log.withLock { $0.filter { $0 != "flush" } } }
  /// Flushed, and nothing delivered after the first flush.
  var flushedLast: Bool {
    log.withLock { log in log.firstIndex(of: "flush").map { log[$0...].allSatisfy { $0 == "flush" } } ?? false }
  }
}
