import Foundation
import Testing

@testable import Core

@Suite struct ValueWatchTests {
  @Test func initialValueThenChangesThenLastValueOnDelete() async throws {
    let (store, _) = makeStore()
    try store.set("k", value: data("v1"), by: alice)
    let watch = try store.watchValue("k", by: bob)
    var updates = watch.makeAsyncIterator()
    let initial = await updates.next()
    #expect(initial?.kind == .noEvent)
    #expect(initial?.snapshot.value == data("v1"))
    #expect(initial?.clientID == "keyquarry")
    #expect(initial?.time == nil)

    try store.set("k", value: data("v2"), by: alice)
    let updated = await updates.next()
    #expect(updated?.kind == .updated)
    #expect(updated?.snapshot.value == data("v2"))
    #expect(updated?.snapshot.version == 2)
    #expect(updated?.clientID == alice)

    try store.delete("k", by: alice)
    let deleted = await updates.next()
    #expect(deleted?.kind == .deleted)
    #expect(deleted?.snapshot.value == data("v2"), "the value at the time of deletion")

    try store.set("k", value: data("v3"), by: alice)
    #expect(await updates.next()?.kind == .created, "the stream stays open after a removal")
    #expect(try store.keyMetric("k").accessCount == 3, "each value pushed counts as an access")
  }

  @Test func valuesLockedByOthersAreHeldBackUntilUnlock() async throws {
    let (store, _) = makeStore()
    try store.set("k", value: data("v1"), lockDuration: .seconds(10), by: alice)
    let watch = try store.watchValue("k", by: bob)
    var updates = watch.makeAsyncIterator()
    try store.set("k", value: data("v2"), by: alice)  // locked by alice: not sent to bob
    try store.unlock("k", by: alice)
    let unlocked = await updates.next()
    #expect(unlocked?.kind == .unlocked)
    #expect(unlocked?.snapshot.value == data("v2"))
  }

  @Test func expiryOfALockedKeySendsOnlyExpired() async throws {
    let (store, clock) = makeStore()
    try store.set("k", value: data("v"), lockDuration: .seconds(60), lifespan: .seconds(5), by: bob)
    let watch = try store.watchValue("k", by: bob)
    var updates = watch.makeAsyncIterator()
    #expect(await updates.next()?.kind == .noEvent)
    clock.advance(by: .seconds(5))
    store.sweepExpired()
    let expired = await updates.next()
    #expect(expired?.kind == .expired)
    #expect(expired?.snapshot.value == data("v"))
  }

  /// A value locked by another client is in no update: CREATED of a key set locked is
  /// skipped, and its removal carries the key and event only. No access is counted.
  @Test func aLockedValueNeverReachesAnotherClient() async throws {
    let (store, _) = makeStore()
    let watch = try store.watchValue("k", by: bob)
    var updates = watch.makeAsyncIterator()
    try store.set("k", value: data("secret"), lockDuration: .seconds(10), by: alice)
    try store.set("k", value: data("secret2"), by: alice)
    try store.delete("k", by: alice)
    let deleted = await updates.next()
    #expect(deleted?.kind == .deleted && deleted?.key == "k")
    #expect(deleted?.snapshot.value.isEmpty == true && deleted?.snapshot.contentType == "")
    #expect(deleted?.snapshot.hash == 0 && deleted?.snapshot.version == 0)
    #expect(try store.keyMetric("k").accessCount == 0)

    let own = try store.watchValue("k", by: alice)
    var mine = own.makeAsyncIterator()
    try store.set("k", value: data("secret"), lockDuration: .seconds(10), by: alice)
    #expect(await mine.next()?.snapshot.value == data("secret"), "the owner's own watch gets it")
  }
}
