import Foundation
import Testing

@testable import Core

@Suite struct SharedStringTests {
  private func storage(_ string: String) -> UnsafeRawPointer? {
    string.utf8.withContiguousStorageIfAvailable { UnsafeRawPointer($0.baseAddress) } ?? nil
  }

  /// Keys a client sets one after another in a shard keep one copy of its id and of the
  /// content type it gives, not one each.
  @Test func oneClientsKeysShareItsIDAndContentType() throws {
    let (store, _) = makeStore()
    let client = "someone@a-host-name-longer-than-15"
    let type = "application/vnd.keyquarry+json"
    let first = "key-0"
    let shard = store.shard(for: first)
    let second = try #require((1..<10_000).lazy.map { "key-\($0)" }.first { store.shard(for: $0) === shard })
    for key in [first, second] {
      // Fresh strings each time, as each request decodes its own.
      try store.set(key, value: data("v"), contentType: String(decoding: Array(type.utf8), as: UTF8.self),
        by: String(decoding: Array(client.utf8), as: UTF8.self))
    }
    let entries = try [first, second].map { key in try #require(store.withShard(of: key) { $0.entry(key) }) }
    #expect(entries[0].createdBy == client)
    #expect(storage(entries[0].createdBy) == storage(entries[1].createdBy))
    #expect(storage(entries[0].contentType) == storage(entries[1].contentType))
    #expect(entries[1].contentType == type)
  }
}
