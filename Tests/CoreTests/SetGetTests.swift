import Foundation
import Testing

@testable import Core

@Suite struct SetGetTests {
  @Test func createThenUpdateBumpsVersionByHash() throws {
    let (store, clock) = makeStore()
    #expect(try store.set("foo", value: data("bar"), by: alice) == true)
    var info = try store.inspect("foo", by: alice)
    #expect(info.version == 1)
    #expect(info.hash == 16_101_355_973_854_746)
    #expect(info.size == 3)
    #expect(info.contentType == "text/plain; charset=utf-8")
    #expect(info.updated == nil)
    #expect(info.locked == false)

    clock.advance(by: .seconds(1))
    #expect(try store.set("foo", value: data("baz"), by: alice) == false)
    info = try store.inspect("foo", by: alice)
    #expect(info.version == 2)
    #expect(info.updated == clock.now())
    #expect(try store.get("foo", by: bob) == data("baz"))

    // Same value: no version bump, `updated` untouched.
    clock.advance(by: .seconds(1))
    try store.set("foo", value: data("baz"), by: alice)
    #expect(try store.inspect("foo", by: alice).version == 2)
    #expect(try store.inspect("foo", by: alice).updated != clock.now())
  }

  @Test func contentTypeIsKeptWhenGivenAndReinferredOnChange() throws {
    let (store, _) = makeStore()
    try store.set("k", value: data("{}"), contentType: "application/json", by: alice)
    #expect(try store.inspect("k", by: alice).contentType == "application/json")
    try store.set("k", value: Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1]), by: alice)
    #expect(try store.inspect("k", by: alice).contentType == "image/png")
  }

  @Test func validationOrderAndNothingStored() {
    let (store, _) = makeStore {
      $0.maxKeyLength = 8
      $0.maxValueSize = 5
      $0.minLockDuration = .seconds(1)
      $0.maxLockDuration = .seconds(60)
      $0.minLifespan = .seconds(2)
    }
    expectError(.invalidArgument, containing: "empty key") { try store.set("", value: data("x"), by: alice) }
    expectError(.invalidArgument, containing: "keyquarry") {
      try store.set("KeyQuarry/x", value: data("x"), by: alice)
    }
    expectError(.failedPrecondition, containing: "key length") {
      try store.set("123456789", value: data("x"), by: alice)
    }
    expectError(.failedPrecondition, containing: "value size") {
      try store.set("k", value: data("123456"), by: alice)
    }
    expectError(.outOfRange, containing: "too long") {
      try store.set("k", value: data("x"), lockDuration: .seconds(61), by: alice)
    }
    for bad: Duration in [.zero, .milliseconds(500), .seconds(-5)] {
      expectError(.outOfRange, containing: "invalid lock") {
        try store.set("k", value: data("x"), lockDuration: bad, by: alice)
      }
      expectError(.invalidArgument, containing: "lifespan") {
        try store.set("k", value: data("x"), lifespan: bad, by: alice)
      }
    }
    // The key-length check comes before the value-size check.
    expectError(.failedPrecondition, containing: "key length") {
      try store.set("123456789", value: data("123456"), by: alice)
    }
    #expect(!store.exists("k"))
    #expect(store.stats().keys == 0)
    #expect(store.stats().events[.created] == 16)  // only the reserved keys
  }

  @Test func boundsAreInclusive() throws {
    let (store, _) = makeStore {
      $0.minLockDuration = .seconds(1)
      $0.maxLockDuration = .seconds(60)
      $0.minLifespan = .seconds(2)
    }
    try store.set("a", value: data("x"), lockDuration: .seconds(1), lifespan: .seconds(2), by: alice)
    try store.set("b", value: data("x"), lockDuration: .seconds(60), by: alice)
  }

  @Test func readOnlyRejectsWritesOnly() throws {
    let (store, _) = makeStore { $0.privilegedClientID = "admin" }
    try store.set("foo", value: data("bar"), by: alice)
    try store.setReadOnly(true, by: "admin")
    expectError(.failedPrecondition, containing: "readonly") { try store.set("x", value: data("y"), by: alice) }
    expectError(.failedPrecondition) { try store.delete("foo", by: alice) }
    expectError(.failedPrecondition) { _ = try store.pop("foo", by: alice) }
    expectError(.failedPrecondition) { _ = try store.clear(force: true, by: alice) }
    expectError(.failedPrecondition) { _ = try store.clearHistory() }
    expectError(.failedPrecondition) { try store.lock("foo", duration: .seconds(10), by: alice) }
    expectError(.failedPrecondition) { try store.unlock("foo", by: alice) }
    #expect(try store.get("foo", by: alice) == data("bar"))
    #expect(try store.listKeys() == ["foo"])
    try store.register("newcomer")
    try store.setReadOnly(false, by: "admin")
    try store.set("x", value: data("y"), by: alice)
  }

  @Test func privilegedChecks() throws {
    let (open, _) = makeStore()
    expectError(.failedPrecondition, containing: "privileged") { try open.setReadOnly(true, by: alice) }
    expectError(.permissionDenied, containing: "admin") { try open.requireAdmin(alice) }
    let (store, _) = makeStore { $0.privilegedClientID = "admin" }
    expectError(.permissionDenied, containing: "not authorized") { try store.setReadOnly(true, by: alice) }
    expectError(.permissionDenied) { try store.requireAdmin(alice) }
    try store.requireAdmin("admin")
  }

  @Test func registerOnceThenAlreadyExists() throws {
    let (store, _) = makeStore()
    try store.register(alice)
    expectError(.alreadyExists, containing: "already registered") { try store.register(alice) }
    try store.register(bob)
    #expect(store.stats().clientIDs == 2)
  }

  @Test func registeredClientIDsStopAtTheirLimit() throws {
    let (store, _) = makeStore { $0.maxClientIDs = 2 }
    try store.register(alice)
    try store.register(bob)
    expectError(.resourceExhausted, containing: "max_client_ids: 2") { try store.register("carol") }
    expectError(.alreadyExists, containing: "already registered") { try store.register(alice) }
    #expect(store.stats().clientIDs == 2, "the refused id is not recorded")
    #expect(StoreOptions().maxClientIDs == 100_000, "bounded by default")
  }

  @Test func deletePopExists() throws {
    let (store, _) = makeStore()
    try store.set("foo", value: data("bar"), by: alice)
    #expect(store.exists("foo"))
    #expect(try store.pop("foo", by: alice) == data("bar"))
    #expect(!store.exists("foo"))
    expectError(.notFound) { _ = try store.get("foo", by: alice) }
    expectError(.notFound) { _ = try store.pop("foo", by: alice) }
    expectError(.notFound) { try store.delete("foo", by: alice) }
    expectError(.notFound) { try store.delete("", by: alice) }
    expectError(.invalidArgument) { try store.delete("keyquarry/Started", by: alice) }
    expectError(.invalidArgument) { _ = try store.pop("keyquarry/Started", by: alice) }
    #expect(store.exists("keyquarry/Started"))
    #expect(try store.get("keyquarry/MaxKeys", by: alice) == data("0"))
    #expect(store.stats().keys == 0)
    #expect(store.stats().totalSize == 0)
  }

  @Test func totalSizeFollowsUpdatesOfAnotherSize() throws {
    let (store, _) = makeStore()
    try store.set("k", value: data("abc"), by: alice)
    try store.set("k", value: data("abcdef"), by: alice)
    #expect(store.stats().totalSize == 6)
    try store.set("k", value: data("a"), by: alice)
    #expect(store.stats().totalSize == 1)
    try store.delete("k", by: alice)
    #expect(store.stats().totalSize == 0)
  }

  @Test func clearKeepsLockedKeysUnlessForcedAndCountsExactly() throws {
    let (store, _) = makeStore()
    try store.set("a", value: data("1"), by: alice)
    try store.set("b", value: data("22"), lockDuration: .seconds(10), by: alice)
    try store.set("c", value: data("333"), lifespan: .seconds(10), by: alice)
    #expect(try store.clear(force: false, by: bob) == 2)
    #expect(try store.listKeys() == ["b"])
    #expect(store.stats().totalSize == 2)
    #expect(store.stats().currentLocks == 1)
    #expect(store.stats().lifespans == 0)
    #expect(try store.clear(force: true, by: bob) == 1)
    let stats = store.stats()
    #expect(stats.keys == 0)
    #expect(stats.totalSize == 0)
    #expect(stats.currentLocks == 0)
    #expect(store.exists("keyquarry/Started"))
  }

  @Test func maxKeysCountsUserKeysOnly() throws {
    let (store, _) = makeStore { $0.maxKeys = 2 }
    try store.set("a", value: data("1"), by: alice)
    try store.set("b", value: data("1"), by: alice)
    expectError(.resourceExhausted, containing: "maximum number of keys") {
      try store.set("c", value: data("1"), by: alice)
    }
    expectError(.resourceExhausted) { try store.lock("c", duration: .seconds(10), createIfMissing: true, by: alice) }
    try store.set("a", value: data("2"), by: alice)  // updates are fine
    #expect(!store.exists("c"))
    #expect(store.stats().pressure == 1)
    try store.delete("a", by: alice)
    try store.set("c", value: data("1"), by: alice)
  }

  @Test func listKeysSortsFiltersAndLimits() throws {
    let (store, _) = makeStore()
    for key in ["SomeKeyHere", "AnotherKeyHere", "bar", "baz", "foo"] {
      try store.set(key, value: data("v"), by: alice)
    }
    #expect(try store.listKeys() == ["AnotherKeyHere", "SomeKeyHere", "bar", "baz", "foo"])
    #expect(try store.listKeys(limit: 2) == ["AnotherKeyHere", "SomeKeyHere"])
    #expect(try store.listKeys(limit: 100).count == 5)
    #expect(try store.listKeys(pattern: "Some*") == ["SomeKeyHere"])
    #expect(try store.listKeys(pattern: ".+other.+") == ["AnotherKeyHere"])
    #expect(try store.listKeys(pattern: "ba*", limit: 2) == ["bar", "baz"])
    #expect(try store.listKeys(pattern: ".+wat.+").isEmpty)
    #expect(try store.listKeys(pattern: "^keyquarry/Max", includeReserved: true).count == 4)
    expectError(.invalidArgument, containing: "pattern") { _ = try store.listKeys(pattern: "(") }
    // RE2's dialect, as the original's Go patterns: no look-around or back-references.
    expectError(.invalidArgument, containing: "(?=") { _ = try store.listKeys(pattern: "foo(?=x)") }
    expectError(.invalidArgument, containing: "\\1") { _ = try store.listKeys(pattern: "(a)\\1") }
  }

  @Test func patternsAreRE2() throws {
    let (store, _) = makeStore()
    for key in ["User/1", "user/22", "über", "x" + String(repeating: "a", count: 40) + "b"] {
      try store.set(key, value: data("v"), by: alice)
    }
    #expect(try store.listKeys(pattern: "(?i)^user/") == ["User/1", "user/22"])
    #expect(try store.listKeys(pattern: "[[:digit:]]{2}$") == ["user/22"])
    #expect(try store.listKeys(pattern: "^\\p{Ll}ber$") == ["über"])
    #expect(try store.listKeys(pattern: "^(?P<first>u)ser") == ["user/22"])
    // Exponential for a backtracking engine; linear for RE2.
    #expect(try store.listKeys(pattern: "^x(a+)+$").isEmpty)
    let limit = String(repeating: "a", count: 4096)
    #expect(try store.listKeys(pattern: limit).isEmpty)
    expectError(.invalidArgument, containing: "4097 bytes") { _ = try store.listKeys(pattern: limit + "a") }
  }

  @Test func statsReportEverything() throws {
    let (store, _) = makeStore { $0.maxKeys = 50 }
    for index in 0..<46 { try store.set("k\(index)", value: data("v"), by: alice) }
    try store.lock("k1", duration: .seconds(10), by: alice)
    try store.set("k2", value: data("w"), lifespan: .seconds(10), by: alice)
    let stats = store.stats()
    #expect(stats.keys == 46)
    #expect(stats.totalSize == 46)
    #expect(stats.currentLocks == 1)
    #expect(stats.lifespans == 1)
    #expect(stats.pressure == 0.92)
    #expect(stats.events[.created] == 16 + 46)
    #expect(stats.events[.updated] == 1)
    #expect(stats.events[.locked] == 1)
    #expect(stats.events[.lifespanSet] == 1)
    #expect(stats.historyKeys == 46)
    #expect(stats.historyRevisions == 47)
  }
}
