import Foundation
import Testing

@testable import Core

@Suite struct EventTests {
  @Test func eventsOfOneOperationArriveInOrderWithIncreasingSequence() async throws {
    let (store, _) = makeStore()
    let watcher = try store.watch(EventFilter())
    try store.set("k", value: data("v"), lockDuration: .seconds(10), lifespan: .seconds(10), by: alice)
    _ = try store.get("k", by: alice)
    try store.set("k", value: data("w"), lockDuration: .seconds(10), lifespan: .seconds(20), by: alice)
    _ = try store.pop("k", by: alice)
    let events = await drain(watcher, count: 9)
    #expect(events.map(\.kind) == [
      .created, .locked, .lifespanSet, .accessed, .lifespanSet, .locked, .updated, .deleted, .accessed,
    ])
    #expect(zip(events, events.dropFirst()).allSatisfy { $0.sequence < $1.sequence })
    #expect(events.allSatisfy { $0.clientID == alice && $0.key == "k" })
  }

  @Test func filtersSelectKeysKindsAndClients() async throws {
    let (store, _) = makeStore()
    let byKey = try store.watch(EventFilter(keys: ["a"]))
    let byKind = try store.watch(EventFilter(kinds: [.deleted]))
    let byClient = try store.watch(EventFilter(clientIDs: [bob]))
    try store.set("a", value: data("1"), by: alice)
    try store.set("b", value: data("1"), by: bob)
    try store.delete("a", by: alice)
    #expect(await drain(byKey, count: 2).map(\.kind) == [.created, .deleted])
    #expect(await drain(byKind, count: 1).map(\.key) == ["a"])
    #expect(await drain(byClient, count: 1).map(\.key) == ["b"])
  }

  /// Keys are told apart by their bytes, so a watcher of one spelling misses the other's events.
  @Test func aKeyFilterMatchesTheKeysBytes() async throws {
    let (store, _) = makeStore()
    let composed = try store.watch(EventFilter(keys: ["caf\u{E9}"]))
    try store.set("cafe\u{301}", value: data("decomposed"), by: alice)
    try store.set("caf\u{E9}", value: data("composed"), by: alice)
    let events = await drain(composed, count: 1)
    #expect(events.map(\.key.utf8.count) == ["caf\u{E9}".utf8.count])
    #expect(events.first?.snapshot?.value == data("composed"))
  }

  @Test func subscriberLimit() throws {
    let (store, _) = makeStore { $0.eventStreamSubscriberLimit = 2 }
    let first = try store.watch(EventFilter())
    _ = try store.watchValue("k", by: alice)
    expectError(.resourceExhausted, containing: "subscriber limit reached: 2") {
      _ = try store.watch(EventFilter())
    }
    #expect(store.stats().eventSubscribers == 2)
    first.finish()
    #expect(store.stats().eventSubscribers == 1)
    _ = try store.watch(EventFilter())
  }

  @Test func aSlowWatcherIsDroppedWithoutSlowingWriters() async throws {
    let (store, clock) = makeStore {
      $0.eventStreamBufferSize = 4
      $0.eventStreamSendTimeout = .seconds(1)
    }
    let slow = try store.watch(EventFilter())
    for index in 0..<10 { try store.set("k\(index)", value: data("v"), by: alice) }
    #expect(!slow.endedBecauseSlow, "dropping events alone does not end the stream")
    clock.advance(by: .seconds(2))
    try store.set("later", value: data("v"), by: alice)
    #expect(slow.endedBecauseSlow)
    #expect(await drain(slow, count: 100).isEmpty, "an ended watcher's queue is let go at once")
  }

  @Test func aWatcherPastItsByteLimitIsEndedAtOnce() async throws {
    let (store, _) = makeStore { $0.watchBufferLimit = 64 << 10 }
    let stalled = try store.watchValue("k", by: alice)
    let reading = try store.watchValue("k", by: alice)
    for round in 0..<7 {
      try store.set("k", value: bytes(10_000, round), by: alice)
      #expect(await drain(reading.subscription, count: 1).count == 1)
    }
    #expect(stalled.subscription.endedBecauseSlow, "70 KB of values waited for it, past 64 KiB")
    #expect(!reading.subscription.endedBecauseSlow, "a watcher that keeps up is not")
    #expect(await drain(stalled.subscription, count: 10).isEmpty)
    #expect(store.stats().eventSubscribers == 1)
  }

  @Test func aWatcherOverItsSoftLimitIsEndedOnlyAfterItsTime() async throws {
    let (store, clock) = makeStore {
      $0.watchBufferSoftLimit = 16 << 10
      $0.watchBufferSoftTime = .seconds(10)
    }
    let watcher = try store.watch(EventFilter())
    try store.set("k", value: bytes(20_000, 1), by: alice)
    clock.advance(by: .seconds(5))
    try store.set("k", value: bytes(100, 2), by: alice)
    #expect(!watcher.endedBecauseSlow, "over the soft limit for 5 s of 10")
    #expect(await drain(watcher, count: 2).count == 2)
    try store.set("k", value: bytes(20_000, 3), by: alice)
    clock.advance(by: .seconds(8))
    try store.set("k", value: bytes(100, 4), by: alice)
    #expect(!watcher.endedBecauseSlow, "catching up below the limit started its time again")
    clock.advance(by: .seconds(3))
    try store.set("k", value: bytes(100, 5), by: alice)
    #expect(watcher.endedBecauseSlow, "over the soft limit for 11 s")
  }

  @Test func pastTheTotalTheWatcherWithTheMostWaitingIsEndedFirst() async throws {
    let (store, _) = makeStore {
      $0.watchBufferLimit = 0
      $0.watchBufferSoftLimit = 0
      $0.watchBufferTotal = 1 << 20
    }
    let small = try store.watchValue("small", by: alice)
    let large = try store.watchValue("large", by: alice)
    for round in 0..<5 { try store.set("small", value: bytes(100_000, round), by: alice) }
    #expect(!small.subscription.endedBecauseSlow && !large.subscription.endedBecauseSlow, "500 KB in all")
    for round in 0..<7 { try store.set("large", value: bytes(100_000, round), by: alice) }
    #expect(large.subscription.endedBecauseSlow, "1.2 MB in all: the one with 700 KB waiting goes")
    #expect(!small.subscription.endedBecauseSlow)
    for round in 5..<9 { try store.set("small", value: bytes(100_000, round), by: alice) }
    #expect(!small.subscription.endedBecauseSlow, "the ended watcher's bytes left the total")
    #expect(await drain(small.subscription, count: 9).count == 9)
  }

  /// The events after a resuming watcher's id are replayed from this run's buffer; an id
  /// from an earlier run (before the restored sequence, or never given out) starts with a reset.
  @Test func resumingReplaysThisRunsEventsAndResetsForAnEarlierRun() async throws {
    let (store, _) = makeStore()
    store.restoreEventSequence(100)
    try store.set("a", value: data("1"), by: alice)
    try store.set("b", value: data("1"), by: alice)
    func replayed(after lastSeen: UInt64) throws -> [String] {
      try store.watch(EventFilter(), resumingAfter: lastSeen).replay.items.map { item in
        switch item {
        case .reset: "reset"
        case .event(let event): "\(event.sequence) \(event.key)"
        }
      }
    }
    #expect(try replayed(after: 100) == ["101 a", "102 b"])
    #expect(try replayed(after: 101) == ["102 b"])
    #expect(try replayed(after: 102) == [])
    #expect(try replayed(after: 99) == ["reset"])
    #expect(try replayed(after: 103) == ["reset"])
  }

  @Test func closingEndsStreamsAndRefusesNewOnes() async throws {
    let (store, _) = makeStore()
    let watcher = try store.watch(EventFilter())
    store.endWatches()
    #expect(await drain(watcher, count: 1).isEmpty)
    expectError(.unavailable) { _ = try store.watch(EventFilter()) }
  }
}

/// `count` bytes that differ from those of another `seed` (setting an equal value is no change).
private func bytes(_ count: Int, _ seed: Int) -> Data { Data(repeating: UInt8(seed), count: count) }
