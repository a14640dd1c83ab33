import Foundation
import Testing

@testable import Core

@Suite struct MemoryLimitTests {
  let alice = "alice"

  /// What the store holds comes and goes with its records: values, history, metrics,
  /// client ids; after everything is removed it is back where it started.
  @Test func heldBytesFollowKeysValuesAndHistory() throws {
    let (store, _) = makeStore { $0.revisionLimit = 3 }
    let empty = store.memoryHeld()
    try store.set("a", value: Data(count: 10_000), by: alice)
    let one = store.memoryHeld()
    #expect(one - empty >= 10_000 && one - empty < 10_400)
    for round in 1...5 { try store.set("a", value: Data(repeating: UInt8(round), count: 10_000), by: alice) }
    let history = store.memoryHeld() - one
    #expect(history >= 20_000 && history < 21_000, "two older revisions kept beside the live one: \(history)")
    try store.register("someone")
    #expect(store.memoryHeld() > one + history)
    _ = try store.clearHistory()
    #expect(store.memoryHeld() - one < 1_000)
    try store.delete("a", by: alice)
    store.prune(to: 0)
    #expect(store.memoryHeld() - empty == 96 + KeyRecord.recordOverhead + 1, "only the client id and the record of a's metrics remain")
  }

  @Test func pastTheLimitSetsAndRegistrationsAreRefusedAndReadsAndDeletesGoOn() throws {
    let (store, _) = makeStore { $0.maxMemory = 50_000 }
    for index in 0..<4 { try store.set("k\(index)", value: Data(count: 10_000), by: alice) }
    store.memory.sample(store.memoryHeld())
    try store.set("k4", value: Data(count: 10_000), by: alice)
    store.memory.sample(store.memoryHeld())
    #expect(throws: StoreError.maxMemory(50_000)) { try store.set("k5", value: Data(count: 1), by: alice) }
    #expect(throws: StoreError.maxMemory(50_000)) { try store.register("late") }
    #expect(try store.get("k0", by: alice).count == 10_000)
    try store.delete("k0", by: alice)
    store.memory.sample(store.memoryHeld())
    try store.set("k5", value: Data(count: 1), by: alice)
  }
}
