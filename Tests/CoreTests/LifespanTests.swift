import Foundation
import HeapModule
import Synchronization
import Testing

@testable import Core

@Suite struct LifespanTests {
  @Test func keyExpiresAfterItsLifespan() async throws {
    let (store, clock) = makeStore()
    let watcher = try store.watch(EventFilter(keys: ["k"]))
    try store.set("k", value: data("v"), lifespan: .seconds(10), by: alice)
    #expect(try store.inspect("k", by: alice).lifespan == .seconds(10))
    clock.advance(by: .seconds(9))
    store.sweepExpired()
    #expect(store.exists("k"))
    clock.advance(by: .seconds(1))
    store.sweepExpired()
    #expect(!store.exists("k"))
    let events = await drain(watcher, count: 3)
    #expect(events.map(\.kind) == [.created, .lifespanSet, .expired])
    #expect(events.last?.clientID == "keyquarry")
    #expect(events.last?.snapshot?.value == data("v"))
    #expect(store.stats().lifespans == 0)
    #expect(store.stats().keys == 0)
  }

  @Test func lifespansAndTimesBeyondInt64NanosecondsSaturate() throws {
    let (store, _) = makeStore()
    try store.set("k", value: data("v"), lifespan: .seconds(315_576_000_000), by: alice)
    #expect(try store.inspect("k", by: alice).lifespan == .longest)
    #expect(Duration.seconds(315_576_000_000).nanoseconds == .max)
    #expect(Duration.seconds(-315_576_000_000).nanoseconds == .min)
    #expect(Duration.longest.nanoseconds == .max && Duration.milliseconds(-1500).nanoseconds == -1_500_000_000)
    #expect(UnixNanos.from(Date(timeIntervalSince1970: 1e11)) == .max)
    #expect(UnixNanos.from(Date(timeIntervalSince1970: -1e11)) == .min)
  }

  @Test func setRenewsOrReplacesTheLifespan() async throws {
    let (store, clock) = makeStore()
    try store.set("k", value: data("v"), lifespan: .seconds(10), by: alice)
    let watcher = try store.watch(EventFilter(keys: ["k"]))
    clock.advance(by: .seconds(8))
    try store.set("k", value: data("v"), by: alice)  // renew with the same 10 s
    #expect(try store.inspect("k", by: alice).lifespanSet == clock.now())
    clock.advance(by: .seconds(8))
    store.sweepExpired()
    #expect(store.exists("k"))
    try store.set("k", value: data("w"), lifespan: .seconds(30), by: alice)
    clock.advance(by: .seconds(29))
    store.sweepExpired()
    #expect(store.exists("k"))
    clock.advance(by: .seconds(1))
    store.sweepExpired()
    #expect(!store.exists("k"))
    let events = await drain(watcher, count: 4)
    #expect(events.map(\.kind) == [.lifespanRenewed, .lifespanSet, .updated, .expired])
  }

  @Test func lifespanWinsOverALongerLock() async throws {
    let (store, clock) = makeStore()
    let watcher = try store.watch(EventFilter(keys: ["k"]))
    try store.set("k", value: data("v"), lockDuration: .seconds(60), lifespan: .seconds(10), by: alice)
    clock.advance(by: .seconds(10))
    store.sweepExpired()
    #expect(!store.exists("k"))
    let events = await drain(watcher, count: 5)
    #expect(events.map(\.kind) == [.created, .locked, .lifespanSet, .unlocked, .expired])
    #expect(store.stats().currentLocks == 0)
    // The lock's own timer fires later on a key that is gone: nothing happens.
    clock.advance(by: .seconds(60))
    store.sweepExpired()
    #expect(store.stats().events[.unlocked] == 1)
  }

  @Test func lockingNeverChangesTheLifespan() throws {
    let (store, clock) = makeStore()
    try store.set("k", value: data("v"), lifespan: .seconds(10), by: alice)
    clock.advance(by: .seconds(5))
    try store.lock("k", duration: .seconds(30), by: alice)
    try store.unlock("k", by: alice)
    clock.advance(by: .seconds(5))
    store.sweepExpired()
    #expect(!store.exists("k"))
  }

  @Test func renewalsDoNotGrowTheTimerHeapWithoutBound() throws {
    let (store, _) = makeStore()
    for _ in 0..<10_000 { try store.set("k", value: data("v"), lifespan: .seconds(100), by: alice) }
    let timers = store.shard(for: "k").state.withLock { $0.timers.count }
    #expect(timers <= 1025)
  }
}
