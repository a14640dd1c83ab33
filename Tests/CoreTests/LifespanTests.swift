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

  /// A sweep locks the shards only when a timer may be due, and keeps track of the
  /// timers it leaves, in whichever shards they are.
  @Test func sweepsKnowTheNextDeadline() throws {
    let (store, clock) = makeStore()
    let start = clock.now()
    #expect(!store.nextExpiry.isDue(at: start + .seconds(1_000_000)))
    try store.set("first", value: data("v"), lifespan: .seconds(10), by: alice)
    try store.set("second", value: data("v"), lockDuration: .seconds(20), by: alice)
    #expect(!store.nextExpiry.isDue(at: start + .seconds(9)) && store.nextExpiry.isDue(at: start + .seconds(10)))
    clock.advance(by: .seconds(10))
    store.sweepExpired()
    #expect(!store.exists("first"))
    #expect(!store.nextExpiry.isDue(at: start + .seconds(19)) && store.nextExpiry.isDue(at: start + .seconds(20)))
    clock.advance(by: .seconds(10))
    store.sweepExpired()
    #expect(try store.inspect("second", by: alice).locked == false)
    #expect(!store.nextExpiry.isDue(at: start + .seconds(1_000_000)))
  }

  /// With no timer the sweeper waits instead of waking 50 times a second: the first
  /// timer wakes it, and cancelling it while it waits ends `run()`.
  @Test func theSweeperWaitsForTheFirstTimer() async throws {
    final class Flag: Sendable { let raised = Atomic(false) }
    let store = Store(options: {
      var options = StoreOptions()
      options.minLifespan = .milliseconds(10)
      return options
    }())
    let ended = Flag()
    let background = Task {
      await store.run()
      ended.raised.store(true, ordering: .relaxed)
    }
    try await Task.sleep(for: .milliseconds(100))  // no timers: the sweeper waits
    try store.set("k", value: data("v"), lifespan: .milliseconds(50), by: alice)
    await eventually { !store.exists("k") }
    try await Task.sleep(for: .milliseconds(100))  // waiting again
    background.cancel()
    await eventually { ended.raised.load(ordering: .relaxed) }
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
