import Foundation
import Testing

@testable import Core

@Suite struct LockTests {
  @Test func onlyTheOwnerMayTouchALockedKey() throws {
    let (store, _) = makeStore()
    try store.set("foo", value: data("bar"), lockDuration: .seconds(10), by: alice)
    expectError(.permissionDenied, containing: "key is locked") { try store.set("foo", value: data("x"), by: bob) }
    expectError(.permissionDenied, containing: "key is locked") { _ = try store.get("foo", by: bob) }
    expectError(.permissionDenied, containing: "key is locked") { try store.delete("foo", by: bob) }
    expectError(.permissionDenied, containing: "key is locked") { _ = try store.pop("foo", by: bob) }
    expectError(.permissionDenied, containing: "key is locked") { try store.lock("foo", duration: .seconds(10), by: bob) }
    expectError(.permissionDenied, containing: "key is locked") { try store.unlock("foo", by: bob) }
    expectError(.permissionDenied) { _ = try store.inspect("foo", includeValue: true, by: bob) }
    expectError(.permissionDenied) { _ = try store.revision("foo", version: 1, by: bob) }
    #expect(try store.inspect("foo", by: bob).locked == true)
    #expect(store.exists("foo"))
    #expect(try store.get("foo", by: alice) == data("bar"))
    try store.set("foo", value: data("baz"), by: alice)
    try store.unlock("foo", by: alice)
    #expect(try store.get("foo", by: bob) == data("baz"))
    #expect(store.stats().currentLocks == 0)
  }

  @Test func lockValidation() {
    let (store, _) = makeStore()
    expectError(.invalidArgument, containing: "empty") { try store.lock("", duration: .seconds(10), by: alice) }
    expectError(.invalidArgument) { try store.lock("keyquarry/x", duration: .seconds(10), by: alice) }
    expectError(.outOfRange, containing: "invalid lock") { try store.lock("foo", duration: nil, by: alice) }
    expectError(.notFound) { try store.lock("foo", duration: .seconds(10), by: alice) }
    expectError(.outOfRange, containing: "too long") { try store.lock("foo", duration: .seconds(3600), by: alice) }
    expectError(.outOfRange, containing: "invalid lock") { try store.lock("foo", duration: .seconds(1), by: alice) }
    expectError(.notFound) { try store.unlock("foo", by: alice) }
  }

  @Test func createIfMissingMakesAnEmptyLockedKey() throws {
    let (store, _) = makeStore()
    try store.lock("new", duration: .seconds(10), createIfMissing: true, by: alice)
    let info = try store.inspect("new", by: alice)
    #expect(info.locked)
    #expect(info.size == 0)
    #expect(info.contentType == "")
    #expect(info.hash == 14_695_981_039_346_656_037)
    #expect(info.version == 1)
    try store.unlock("new", by: alice)
    try store.unlock("new", by: alice)  // not locked: still success
  }

  @Test func relockingExtendsByTheDurationUpToTheMaximum() throws {
    let (store, clock) = makeStore { $0.maxLockDuration = .seconds(60) }
    try store.lock("k", duration: .seconds(10), createIfMissing: true, by: alice)
    clock.advance(by: .seconds(4))
    try store.lock("k", duration: .seconds(10), by: alice)  // now expires at t0 + 20
    clock.advance(by: .seconds(15))
    store.sweepExpired()
    #expect(try store.inspect("k", by: bob).locked, "the second lock extended the first")
    clock.advance(by: .seconds(2))
    store.sweepExpired()
    #expect(try store.inspect("k", by: bob).locked == false)

    // Extensions never leave more than max_lock_duration.
    try store.lock("k", duration: .seconds(50), by: alice)
    try store.lock("k", duration: .seconds(50), by: alice)
    clock.advance(by: .seconds(59))
    store.sweepExpired()
    #expect(try store.inspect("k", by: bob).locked)
    clock.advance(by: .seconds(2))
    store.sweepExpired()
    #expect(try store.inspect("k", by: bob).locked == false)
  }

  @Test func expiredLockIsReleasedByTheServer() async throws {
    let (store, clock) = makeStore()
    try store.set("k", value: data("v"), lockDuration: .seconds(5), by: alice)
    let watcher = try store.watch(EventFilter(keys: ["k"]))
    clock.advance(by: .seconds(5))
    store.sweepExpired()
    let events = await drain(watcher, count: 1)
    #expect(events.map(\.kind) == [.unlocked])
    #expect(events.first?.clientID == "keyquarry")
    #expect(try store.get("k", by: bob) == data("v"))
    #expect(store.stats().currentLocks == 0)
  }
}
