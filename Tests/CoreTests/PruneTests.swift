import Foundation
import Testing

@testable import Core

@Suite struct PruneTests {
  @Test func prunesTheStalestUnlockedKeysFirst() async throws {
    let (store, clock) = makeStore()
    try store.set("old", value: data("v"), by: alice)
    clock.advance(by: .seconds(3600 * 12))
    try store.set("locked", value: data("v"), lockDuration: .seconds(60), by: alice)
    try store.set("fresh", value: data("v"), by: alice)
    try store.set("keep", value: data("v"), by: alice)
    clock.advance(by: .seconds(60))
    _ = try store.get("fresh", by: alice)
    let watcher = try store.watch(EventFilter(kinds: [.expunged]))

    #expect(store.prune(to: 1, ignoring: ["keep"]) == 2)
    #expect(try store.listKeys() == ["keep", "locked"])
    let events = await drain(watcher, count: 2)
    #expect(events.map(\.key) == ["old", "fresh"])
    #expect(events.allSatisfy { $0.clientID == "keyquarry" })
    #expect(store.stats().pruneCompleted == 1)
    #expect(try store.keyMetric("old").setCount == 1, "metrics outlive pruning")

    #expect(store.prune(to: 5) == 0)
    #expect(store.stats().pruneCompleted == 1, "below the target does not count as a prune")
  }

  @Test func stalenessOrder() {
    let now = Date(timeIntervalSince1970: 1_000_000)
    func metric(created: Double, updated: Double? = nil, locked: Double? = nil) -> KeyMetric {
      var metric = KeyMetric()
      metric.firstSet = now.addingTimeInterval(-created * 3600)
      metric.lastSet = now.addingTimeInterval(-(updated ?? created) * 3600)
      if let locked { metric.lastLocked = now.addingTimeInterval(locked * 3600) }
      return metric
    }
    let old = Store.freshness(metric(created: 12), now: now)
    let oldUpdated = Store.freshness(metric(created: 12, updated: 11), now: now)
    let recent = Store.freshness(metric(created: 0.01), now: now)
    let recentFutureLock = Store.freshness(metric(created: 0.01, locked: 1), now: now)
    #expect(old < oldUpdated)
    #expect(oldUpdated < recent)
    #expect(recent == recentFutureLock)
  }

  @Test func scheduledPruneRunsInTheBackground() async throws {
    let store = Store(options: {
      var options = StoreOptions()
      options.maxKeys = 50
      options.pruneAt = 45
      options.pruneTo = 40
      options.pruneInterval = .milliseconds(50)
      return options
    }())
    for index in 0..<46 { try store.set("k\(index)", value: data("v"), by: alice) }
    #expect(store.stats().pressure == 0.92)
    let background = Task { await store.run() }
    await eventually { store.stats().keys == 40 }
    background.cancel()
    await background.value
    #expect(store.stats().events[.expunged] == 6)
  }

  @Test func eagerPruneSparesTheKeyThatTriggeredIt() async throws {
    let store = Store(options: {
      var options = StoreOptions()
      options.maxKeys = 50
      options.eagerPruneAt = 25
      options.eagerPruneTo = 22
      return options
    }())
    let background = Task { await store.run() }
    for index in 0..<25 { try store.set("k\(index)", value: data("v"), by: alice) }
    try store.set("trigger", value: data("v"), by: alice)
    await eventually { store.stats().keys == 22 }
    #expect(store.exists("trigger"))
    #expect(store.stats().eagerPruneTriggered == 1)
    background.cancel()
    await background.value
  }

  @Test func optionsAreValidated() {
    var options = StoreOptions()
    options.pruneInterval = .seconds(1)
    options.pruneAt = 10
    options.pruneTo = 20
    expectError(.invalidArgument, containing: "prune_to") { try options.validate() }
    options = StoreOptions()
    options.eagerPruneAt = 10
    options.eagerPruneTo = 10
    expectError(.invalidArgument, containing: "eager_prune_to") { try options.validate() }
    options = StoreOptions()
    options.revisionLimit = -2
    expectError(.invalidArgument, containing: "revision_limit") { try options.validate() }
    options = StoreOptions()
    options.maxValueSize = Int(UInt32.max) + 1
    expectError(.invalidArgument, containing: "max_value_size") { try options.validate() }
  }
}
