import Foundation
import NIOCore
import NIOHPACK

/// `--load`: sets keys "key:%012d" (0 to count - 1) to 100-byte values through one
/// connection's unary calls, `inFlight` of them at a time on their own streams, as fast
/// as the server answers: the bench's key loading (a gRPC client library on the load
/// generator's one core would be slower than the server). Used on the caller's loop only.
final class KeyLoader: @unchecked Sendable {
  private let caller: UnaryCaller
  private let headers: HPACKHeaders
  private let count: Int
  private let done: EventLoopPromise<Void>
  private let value = [UInt8](repeating: UInt8(ascii: "v"), count: 100)
  private var sent = 0
  private var answered = 0

  init(count: Int, caller: UnaryCaller, headers: HPACKHeaders, on loop: any EventLoop) {
    (self.count, self.caller, self.headers) = (count, caller, headers)
    done = loop.makePromise()
  }

  /// Completes when every key is set, or fails with the first call that failed.
  func run(inFlight: Int) -> EventLoopFuture<Void> {
    for _ in 0..<min(inFlight, count) { sendNext() }
    return done.futureResult
  }

  private func sendNext() {
    let key = Array(String(format: "key:%012d", sent).utf8)
    sent += 1
    let call = done.futureResult.eventLoop.makePromise(of: Void.self)
    call.futureResult.whenComplete { result in
      switch result {
      case .failure(let error): self.done.fail(error)
      case .success:
        self.answered += 1
        if self.answered == self.count {
          self.done.succeed()
        } else if self.sent < self.count {
          self.sendNext()
        }
      }
    }
    caller.call(headers: headers, body: Wire.frame(Wire.field(1, key) + Wire.field(2, value)), promise: call)
  }
}
