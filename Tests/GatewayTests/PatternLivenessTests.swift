import Core
import Foundation
import NIOHTTP1
import Synchronization
import Testing

/// A pattern that takes a backtracking engine exponential time must neither stall ListKeys
/// nor the requests made while it runs. A liveness test, not a benchmark: the bounds are
/// generous, and what is asserted is that other requests are answered while it runs, about
/// as fast as just before it (the other tests running beside this one load the machine).
@Suite struct PatternLivenessTests {
  @Test func anAdversarialPatternOverManyKeysLeavesOtherRequestsAnswered() async throws {
    try await TestGateway.with(options: { $0.maxKeys = 200_000 }) { gw in
      let stem = String(repeating: "a", count: 40) + "b"
      for index in 0..<100_000 { try gw.store.set("\(stem)\(index)", value: Data("v"), by: "test") }

      let clock = ContinuousClock()
      func timedStats() async throws -> Duration {
        let asked = clock.now
        let stats = try await gw.send(.GET, "/v1/stats")
        #expect(stats.status == 200)
        return clock.now - asked
      }
      var before: [Duration] = []
      for _ in 0..<20 { before.append(try await timedStats()) }
      let listing = Mutex(true)
      let started = clock.now
      async let list = { () async throws -> (TestGateway.Reply, Duration) in
        defer { listing.withLock { $0 = false } }
        let reply = try await gw.send(.GET, "/v1/keys?pattern=" + "^(a+)+$".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
        return (reply, clock.now - started)
      }()
      // How long each Stats call answered while ListKeys was still running took.
      var during: [Duration] = []
      while listing.withLock({ $0 }) {
        let took = try await timedStats()
        if listing.withLock({ $0 }) { during.append(took) }
      }
      let (reply, took) = try await list
      #expect(reply.status == 200, "\(reply.text)")
      #expect(reply.json["keys"] == nil, "no key matches: \(reply.text.prefix(200))")
      // About 0.3 s here when alone; a backtracking engine takes hours.
      #expect(took < .seconds(10), "ListKeys took \(took)")
      #expect(!during.isEmpty, "no Stats call was answered while ListKeys ran")
      // Medians, so that one hiccup of a busy machine is not taken for a stall.
      func median(_ times: [Duration]) -> Duration { times.sorted()[times.count / 2] }
      let bound = max(.milliseconds(50), median(before) * 4)
      #expect(median(during) < bound, "Stats took \(median(during)) while ListKeys ran, \(median(before)) before")
    }
  }
}
