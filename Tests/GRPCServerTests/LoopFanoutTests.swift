@testable import Core
import Foundation
@testable import GRPCServer
import NIOEmbedded
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

  private func event(_ sequence: UInt64, _ key: String) -> Event {
    Event(sequence: sequence, key: key, kind: .updated, time: Date(), clientID: "test", snapshot: nil)
  }
}

/// A watcher that writes down what the fanout does with it.
private final class Recorder: FanoutDelivery {
  let log = Mutex<[String]>([])

  func deliver(_ event: inout EncodedEvent) { log.withLock { $0.append(event.event.key) } }
  func close(slow: Bool) { log.withLock { $0.append(slow ? "end slow" : "end") } }
  func flush() { log.withLock { $0.append("flush") } }

  /// What reached the watcher, flushes left out.
  var delivered: [String] { log.withLock { $0.filter { $0 != "flush" } } }
  /// Flushed, and nothing delivered after the first flush.
  var flushedLast: Bool {
    log.withLock { log in log.firstIndex(of: "flush").map { log[$0...].allSatisfy { $0 == "flush" } } ?? false }
  }
}
