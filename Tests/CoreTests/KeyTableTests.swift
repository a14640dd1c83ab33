import Foundation
import Testing

@testable import Core

@Suite struct KeyTableTests {
  private func record(_ key: String, _ value: String) -> KeyRecord {
    var key = key
    return key.withUTF8 { bytes in
      KeyRecord.make(key: bytes, value: Data(value.utf8), header: KeyRecord.Header())
    }
  }

  private func put(_ table: inout KeyTable, _ key: String, _ value: String) {
    table.update(key) { bytes, _ in KeyRecord.make(key: bytes, value: Data(value.utf8), header: KeyRecord.Header()) }
  }

  private func contents(_ table: KeyTable) -> [String: String] {
    Dictionary(uniqueKeysWithValues: table.records.map { ($0.key, String(decoding: $0.value, as: UTF8.self)) })
  }

  /// Inserts, replacements and removals in random order, through many growths and long
  /// probe runs (removal moves records back), always agreeing with a Dictionary.
  @Test func agreesWithADictionary() {
    var generator = SystemRandomNumberGenerator()
    var table = KeyTable()
    var expected: [String: String] = [:]
    for step in 0..<20_000 {
      let key = "k\(Int.random(in: 0..<3_000, using: &generator))"
      if Bool.random(using: &generator) {
        put(&table, key, "v\(step)")
        expected[key] = "v\(step)"
      } else {
        table.update(key) { _, _ in nil }
        expected[key] = nil
      }
      if step % 997 == 0 {
        #expect(contents(table) == expected)
        #expect(table.count == expected.count)
      }
    }
    #expect(contents(table) == expected)
    for key in expected.keys { #expect(table[key] != nil) }
    for key in ["k-1", "k3000", ""] { #expect(table[key] == nil) }
    for key in expected.keys { table.update(key) { _, _ in nil } }
    #expect(table.count == 0)
    #expect(Array(table.records).isEmpty)
  }

  @Test func aCopyKeepsItsRecordsWhileTheOriginalChanges() {
    var table = KeyTable()
    for index in 0..<100 { put(&table, "key\(index)", "old") }
    let copy = table
    for index in 0..<50 { put(&table, "key\(index)", "new") }
    for index in 50..<100 { table.update("key\(index)") { _, _ in nil } }
    table.modify("key0") { $0.record(.accessed, at: Date()) }
    #expect(contents(copy) == Dictionary(uniqueKeysWithValues: (0..<100).map { ("key\($0)", "old") }))
    #expect(copy["key0"]?.metric == nil, "the copy's record was not changed in place")
    #expect(table["key0"]?.metric?.accessCount == 1)
    #expect(contents(table) == Dictionary(uniqueKeysWithValues: (0..<50).map { ("key\($0)", "new") }))
  }

  @Test func keysAreEqualByTheirBytes() {
    var table = KeyTable()
    let composed = "caf\u{E9}"
    let decomposed = "cafe\u{301}"
    #expect(composed == decomposed, "Swift's String equates them")
    put(&table, composed, "one")
    put(&table, decomposed, "two")
    #expect(table.count == 2)
    #expect(table[composed].map { String(decoding: $0.value, as: UTF8.self) } == "one")
    #expect(table[decomposed]?.key.utf8.count == decomposed.utf8.count)
    put(&table, "", "empty")
    #expect(table[""]?.key == "")
    #expect(table.count == 3)
  }

  @Test func aRecordHoldsItsKeyAndValueInline() {
    let made = record("key:000000000001", String(repeating: "v", count: 100))
    #expect(made.key == "key:000000000001")
    #expect(made.valueCount == 100)
    #expect(made.value == Data(repeating: UInt8(ascii: "v"), count: 100))
    #expect(MemoryLayout<KeyRecord.Header>.size <= 100, "a 16-byte key and 100-byte value fit a 240-byte block")
  }
}
