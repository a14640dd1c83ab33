import Foundation
import Testing

@testable import Core

@Suite struct HistoryTests {
  @Test func keepsTheNewestRevisions() throws {
    let (store, _) = makeStore { $0.revisionLimit = 3 }
    try store.set("k", value: data("bar-0"), by: alice)
    #expect(try store.revision("k", version: 1, by: alice).value == data("bar-0"))
    for index in 1...3 { try store.set("k", value: data("bar-\(index)"), by: alice) }
    expectError(.notFound, containing: "revision not found") { _ = try store.revision("k", version: 1, by: alice) }
    #expect(try store.revision("k", version: 2, by: alice).value == data("bar-1"))
    #expect(try store.revision("k", version: 4, by: alice).value == data("bar-3"))
    #expect(try store.revision("k", version: -1, by: alice).value == data("bar-2"))
    #expect(try store.revision("k", version: -2, by: alice).value == data("bar-1"))
    expectError(.notFound) { _ = try store.revision("k", version: -3, by: alice) }
    expectError(.invalidArgument, containing: "greater or less than zero") {
      _ = try store.revision("k", version: 0, by: alice)
    }
    expectError(.notFound) { _ = try store.revision("never", version: 1, by: alice) }
    #expect(store.stats().historyRevisions == 3)
  }

  @Test func versioningCanBeOff() {
    let (store, _) = makeStore { $0.revisionLimit = 0 }
    expectError(.failedPrecondition, containing: "versioning") { _ = try store.revision("k", version: 1, by: alice) }
    expectError(.failedPrecondition, containing: "versioning") { _ = try store.clearHistory() }
  }

  @Test func clearHistoryCountsEveryRemovedRevision() throws {
    let (store, _) = makeStore { $0.keepDeletedKeyHistory = true }
    try store.set("a", value: data("1"), by: alice)
    try store.set("a", value: data("2"), by: alice)
    try store.set("b", value: data("1"), by: alice)
    try store.delete("b", by: alice)
    let (keys, cleared) = try store.clearHistory()
    #expect(keys == 2)
    #expect(cleared == 3)
    expectError(.notFound) { _ = try store.revision("a", version: 2, by: alice) }
    try store.set("a", value: data("3"), by: alice)
    #expect(try store.inspect("a", by: alice).version == 3)
    #expect(try store.revision("a", version: 3, by: alice).value == data("3"))
  }

  @Test func deletedKeyHistoryContinuesVersionsWhenKept() throws {
    let (store, _) = makeStore {
      $0.revisionLimit = 3
      $0.keepDeletedKeyHistory = true
    }
    try store.set("k", value: data("v1"), by: alice)
    try store.set("k", value: data("v2"), by: alice)
    try store.delete("k", by: alice)
    #expect(try store.revision("k", version: 2, by: alice).value == data("v2"))
    try store.set("k", value: data("v3"), by: alice)
    #expect(try store.inspect("k", by: alice).version == 3)
    try store.delete("k", by: alice)
    try store.lock("k", duration: .seconds(10), createIfMissing: true, by: alice)
    #expect(try store.inspect("k", by: alice).version == 4)
  }

  @Test func deleteAndExpiryDropHistoryByDefault() throws {
    let (store, clock) = makeStore()
    try store.set("k", value: data("v1"), by: alice)
    try store.delete("k", by: alice)
    expectError(.notFound) { _ = try store.revision("k", version: 1, by: alice) }
    try store.set("k", value: data("v1"), lifespan: .seconds(5), by: alice)
    #expect(try store.inspect("k", by: alice).version == 1)
    clock.advance(by: .seconds(5))
    store.sweepExpired()
    expectError(.notFound) { _ = try store.revision("k", version: 1, by: alice) }
  }
}

@Suite struct HistoryLimitTests {
  @Test func aLimitOfOneKeepsOnlyTheLiveValue() throws {
    let (store, _) = makeStore {
      $0.revisionLimit = 1
      $0.keepDeletedKeyHistory = true
    }
    for index in 1...3 { try store.set("k", value: data("v\(index)"), by: alice) }
    #expect(try store.revision("k", version: 3, by: alice).value == data("v3"))
    expectError(.notFound, containing: "revision not found") { _ = try store.revision("k", version: -1, by: alice) }
    expectError(.notFound) { _ = try store.revision("k", version: 2, by: alice) }
    #expect(store.stats().historyRevisions == 1)
    try store.delete("k", by: alice)
    #expect(try store.revision("k", version: 3, by: alice).value == data("v3"), "kept after the delete")
    try store.set("k", value: data("v4"), by: alice)
    #expect(try store.inspect("k", by: alice).version == 4)
    expectError(.notFound) { _ = try store.revision("k", version: 3, by: alice) }
    #expect(store.stats().historyKeys == 1)
    #expect(store.stats().historyRevisions == 1)
  }

  @Test func aClearedLiveValueComesBackOnlyWithTheNextChange() throws {
    let (store, _) = makeStore { $0.revisionLimit = 3 }
    try store.set("k", value: data("v1"), by: alice)
    try store.set("k", value: data("v2"), by: alice)
    #expect(try store.clearHistory() == (1, 2))
    expectError(.notFound) { _ = try store.revision("k", version: 2, by: alice) }
    try store.set("k", value: data("v2"), by: alice)
    expectError(.notFound) {  // the same value records nothing
      _ = try store.revision("k", version: 2, by: alice) }
    try store.set("k", value: data("v3"), by: alice)
    expectError(.notFound) { _ = try store.revision("k", version: 2, by: alice) }
    #expect(try store.revision("k", version: 3, by: alice).value == data("v3"))
    #expect(store.stats().historyRevisions == 1)
  }

  @Test func restoredHistoriesMatchTheSavedOnes() throws {
    let options: (inout StoreOptions) -> Void = {
      $0.revisionLimit = 3
      $0.keepDeletedKeyHistory = true
    }
    let (original, _) = makeStore(options)
    try original.set("cleared", value: data("c1"), by: alice)
    _ = try original.clearHistory()
    for index in 1...5 { try original.set("live", value: data("v\(index)"), by: alice) }
    try original.set("gone", value: data("g1"), by: alice)
    try original.set("gone", value: data("g2"), by: alice)
    try original.delete("gone", by: alice)

    let (copy, _) = makeStore(options)
    let snapshot = original.snapshot()
    for key in snapshot.keys { copy.restore(key) }
    for (key, revisions) in snapshot.histories { copy.restoreHistory(key, revisions) }
    for (key, metric) in snapshot.metrics { copy.restoreMetric(key, metric) }

    let saved = Dictionary(uniqueKeysWithValues: snapshot.histories.map { ($0.key, $0.revisions) })
    let restored = Dictionary(uniqueKeysWithValues: copy.snapshot().histories.map { ($0.key, $0.revisions) })
    #expect(Set(saved.keys) == ["live", "gone"], "a cleared history is not saved")
    #expect(saved == restored)
    #expect(saved["live"]?.map(\.version) == [3, 4, 5])
    #expect(copy.stats().historyRevisions == 5)
    try copy.set("live", value: data("v6"), by: alice)
    #expect(try copy.revision("live", version: 4, by: alice).value == data("v4"))
    expectError(.notFound) { _ = try copy.revision("live", version: 3, by: alice) }
    try copy.set("gone", value: data("g3"), by: alice)
    #expect(try copy.inspect("gone", by: alice).version == 3)
    #expect(try copy.revision("gone", version: 1, by: alice).value == data("g1"))
  }
}
