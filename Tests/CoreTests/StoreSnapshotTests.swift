import Foundation
import Testing

@testable import Core

@Suite struct StoreSnapshotTests {
  /// A snapshot is written while the store keeps serving: what it holds must not move.
  @Test func aSnapshotStaysAsTakenWhileTheStoreChanges() async throws {
    let (store, clock) = makeStore { $0.keepDeletedKeyHistory = true }
    try store.set("a", value: data("a1"), by: alice)
    try store.set("b", value: data("b1"), lifespan: .seconds(60), by: alice)
    _ = try store.get("a", by: alice)
    let snapshot = store.snapshot()

    clock.advance(by: .seconds(1))
    try store.set("a", value: data("a2"), by: bob)
    try store.lock("a", duration: .seconds(30), by: bob)
    _ = try store.get("a", by: bob)
    try store.delete("b", by: alice)
    try store.set("c", value: data("c1"), by: alice)
    _ = try store.clearHistory()

    let keys = Dictionary(uniqueKeysWithValues: snapshot.keys.map { ($0.key, $0) })
    #expect(Set(keys.keys) == ["a", "b"])
    #expect(keys["a"]?.value == data("a1"))
    #expect(keys["a"]?.version == 1)
    #expect(keys["a"]?.lock == nil)
    #expect(keys["b"]?.lifespan?.duration == .seconds(60))
    #expect(snapshot.keyCount == 2)
    let histories = Dictionary(uniqueKeysWithValues: snapshot.histories.map { ($0.key, $0.revisions) })
    #expect(histories["a"]?.map(\.value) == [data("a1")])
    #expect(histories["b"]?.map(\.value) == [data("b1")])
    let metrics = Dictionary(uniqueKeysWithValues: snapshot.metrics.map { ($0.key, $0.metric) })
    #expect(metrics["a"]?.accessCount == 1)
    #expect(metrics["a"]?.setCount == 1)
    #expect(metrics["a"]?.lockCount == 0)
    #expect(metrics["c"] == nil)

    #expect(try store.inspect("a", by: bob).version == 2, "the store itself moved on")
    #expect(try store.keyMetric("a").accessCount == 2)
  }
}
