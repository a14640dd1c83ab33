/// One shard's key records by key: an open-addressing hash table (linear probing,
/// backward-shift deletion, at most 3/4 full) of record references, 9 bytes a slot. A
/// `Dictionary<String, KeyRecord>` held 24-byte slots and each key's `String` besides;
/// here the key's bytes live in its record. Keys are equal when their UTF-8 bytes are,
/// as in the original's Go map (Swift's `String` would also equate canonically
/// equivalent Unicode spellings).
///
/// A copy (a snapshot's) shares the slot arrays until either side changes them, and the
/// records until one is changed (`modify`). Sendable because a shared record is never
/// changed: a snapshot reads its copy on another thread while the store goes on.
struct KeyTable: @unchecked Sendable {
  private var slots: [KeyRecord?]
  /// 0 for an empty slot, else 0x80 and 7 bits of the key's hash, so that a probe reads a
  /// record only when it likely holds the key.
  private var tags: [UInt8]
  private(set) var count = 0

  init() {
    slots = Array(repeating: nil, count: 8)
    tags = Array(repeating: 0, count: 8)
  }

  private var mask: Int { slots.count - 1 }

  var records: some Sequence<KeyRecord> { slots.lazy.compactMap { $0 } }

  subscript(key: String) -> KeyRecord? {
    Self.withUTF8(key) { key in
      let (index, found) = find(key, hash: Self.hash(key))
      return found ? slots[index] : nil
    }
  }

  /// Runs `body` on the record of `key`, made unique first (a snapshot may share it).
  /// Nil when the key has no record.
  mutating func modify<R>(_ key: String, _ body: (KeyRecord) -> R) -> R? {
    Self.withUTF8(key) { key in
      let (index, found) = find(key, hash: Self.hash(key))
      guard found else { return nil }
      if !isKnownUniquelyReferenced(&slots[index]) { slots[index] = slots[index]!.copy() }
      return body(slots[index]!)
    }
  }

  /// Puts what `body` makes of the record of `key` (nil: none) in its place; nil removes it.
  /// `body` gets the key's bytes to make a record with.
  mutating func update(_ key: String, _ body: (UnsafeBufferPointer<UInt8>, KeyRecord?) -> KeyRecord?) {
    Self.withUTF8(key) { key in
      let hash = Self.hash(key)
      var (index, found) = find(key, hash: hash)
      let record = body(key, found ? slots[index] : nil)
      switch (found, record) {
      case (true, .some): slots[index] = record
      case (true, nil): remove(at: index)
      case (false, .some):
        if (count + 1) * 4 > slots.count * 3 {
          grow()
          index = find(key, hash: hash).index
        }
        (slots[index], tags[index]) = (record, Self.tag(hash))
        count += 1
      case (false, nil): break
      }
    }
  }

  // MARK: - Probing

  private static func withUTF8<R>(_ key: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
    var key = key
    return key.withUTF8(body)
  }

  /// Seeded per process (SipHash), so that chosen keys cannot pile up in one run of slots.
  private static func hash(_ key: UnsafeBufferPointer<UInt8>) -> Int {
    var hasher = Hasher()
    hasher.combine(bytes: UnsafeRawBufferPointer(key))
    return hasher.finalize()
  }

  private static func tag(_ hash: Int) -> UInt8 {
    0x80 | UInt8(truncatingIfNeeded: UInt(bitPattern: hash) >> 57)
  }

  /// The slot holding `key`, or the empty slot where the probe for it ended.
  private func find(_ key: UnsafeBufferPointer<UInt8>, hash: Int) -> (index: Int, found: Bool) {
    let tag = Self.tag(hash)
    var index = hash & mask
    while tags[index] != 0 {
      if tags[index] == tag, slots[index]!.hasKey(key) { return (index, true) }
      index = (index + 1) & mask
    }
    return (index, false)
  }

  private func home(of record: KeyRecord) -> Int {
    record.withKeyBytes { Self.hash($0) } & mask
  }

  /// Empties a slot, moving later records of its run back so that no probe stops short.
  private mutating func remove(at index: Int) {
    var hole = index
    var next = (hole + 1) & mask
    while tags[next] != 0 {
      // The record at `next` may fill the hole if the hole lies between its home and it.
      let home = home(of: slots[next]!)
      if (next - home) & mask >= (next - hole) & mask {
        (slots[hole], tags[hole]) = (slots[next], tags[next])
        hole = next
      }
      next = (next + 1) & mask
    }
    (slots[hole], tags[hole]) = (nil, 0)
    count -= 1
  }

  private mutating func grow() {
    let old = slots
    slots = Array(repeating: nil, count: old.count * 2)
    tags = Array(repeating: 0, count: old.count * 2)
    for case let record? in old {
      let hash = record.withKeyBytes { Self.hash($0) }
      var index = hash & mask
      while tags[index] != 0 { index = (index + 1) & mask }
      (slots[index], tags[index]) = (record, Self.tag(hash))
    }
  }
}
