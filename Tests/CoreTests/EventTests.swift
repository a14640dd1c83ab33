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
    let received = await drain(slow, count: 100)
    #expect(received.count == 4, "the buffered events are still delivered, then the stream ends")
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
