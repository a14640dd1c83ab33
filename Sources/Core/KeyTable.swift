/// One shard's key records by key: an open-addressing hash table (linear probing,
/// backward-shift deletion, at most 3/4 full) of record references, 12 bytes a slot. A
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
  /// 0 for an empty slot, else 31 bits of the key's hash with the top bit set: a probe
  /// reads a record only when it likely holds the key, and growing or removing moves
  /// records without reading their keys.
  private var hashes: [UInt32]
  private(set) var count = 0
  /// Records with a history, and their revisions, kept up to date as records change, so
  /// that Stats reads two numbers instead of visiting every record.
  private(set) var historyKeys = 0
  private(set) var historyRevisions = 0
  /// What the records hold (`KeyRecord.footprint`), for `max_memory`.
  private(set) var bytes = 0

  init() {
    slots = Array(repeating: nil, count: 8)
    hashes = Array(repeating: 0, count: 8)
  }

  private var mask: Int { slots.count - 1 }

  var records: some Sequence<KeyRecord> { slots.lazy.compactMap { $0 } }

  subscript(key: String) -> KeyRecord? {
    Self.withUTF8(key) { key in
      let (index, found) = find(key, Self.hash(key))
      return found ? slots[index] : nil
    }
  }

  /// Runs `body` on the record of `key`, made unique first (a snapshot may share it).
  /// Nil when the key has no record.
  mutating func modify<R>(_ key: String, _ body: (KeyRecord) -> R) -> R? {
    Self.withUTF8(key) { key in
      let (index, found) = find(key, Self.hash(key))
      guard found else { return nil }
      if !isKnownUniquelyReferenced(&slots[index]) { slots[index] = slots[index]!.copy() }
      let (before, bytesBefore) = (slots[index]!.historyCount, slots[index]!.footprint)
      let result = body(slots[index]!)
      let after = slots[index]!.historyCount
      countHistory(from: before, to: after)
      // A record's key and value never change in place: only its history can.
      if after != before { bytes += slots[index]!.footprint - bytesBefore }
      return result
    }
  }

  /// Puts what `body` makes of the record of `key` (nil: none) in its place; nil removes it.
  /// `body` gets the key's bytes to make a record with.
  mutating func update(_ key: String, _ body: (UnsafeBufferPointer<UInt8>, KeyRecord?) -> KeyRecord?) {
    Self.withUTF8(key) { key in
      let hash = Self.hash(key)
      var (index, found) = find(key, hash)
      let record = body(key, found ? slots[index] : nil)
      countHistory(from: found ? slots[index]!.historyCount : 0, to: record?.historyCount ?? 0)
      bytes += (record?.footprint ?? 0) - (found ? slots[index]!.footprint : 0)
      switch (found, record) {
      case (true, .some): slots[index] = record
      case (true, nil): remove(at: index)
      case (false, .some):
        if (count + 1) * 4 > slots.count * 3 {
          grow()
          index = find(key, hash).index
        }
        (slots[index], hashes[index]) = (record, hash)
        count += 1
      case (false, nil): break
      }
    }
  }

  private mutating func countHistory(from before: Int, to after: Int) {
    guard before != after else { return }
    historyRevisions += after - before
    historyKeys += (after > 0 ? 1 : 0) - (before > 0 ? 1 : 0)
  }

  // MARK: - Probing

  private static func withUTF8<R>(_ key: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
    var key = key
    return key.withUTF8(body)
  }

  /// Seeded per process (SipHash), so that chosen keys cannot pile up in one run of
  /// slots; never 0, which marks an empty slot.
  private static func hash(_ key: UnsafeBufferPointer<UInt8>) -> UInt32 {
    var hasher = Hasher()
    hasher.combine(bytes: UnsafeRawBufferPointer(key))
    return UInt32(truncatingIfNeeded: hasher.finalize()) | 0x8000_0000
  }

  /// A hash's first slot (tables stay under 2^31 slots).
  private func home(_ hash: UInt32) -> Int { Int(hash) & mask }

  /// The slot holding `key`, or the empty slot where the probe for it ended.
  private func find(_ key: UnsafeBufferPointer<UInt8>, _ hash: UInt32) -> (index: Int, found: Bool) {
    var index = home(hash)
    while hashes[index] != 0 {
      if hashes[index] == hash, slots[index]!.hasKey(key) { return (index, true) }
      index = (index + 1) & mask
    }
    return (index, false)
  }

  /// Empties a slot, moving later records of its run back so that no probe stops short.
  private mutating func remove(at index: Int) {
    var hole = index
    var next = (hole + 1) & mask
    while hashes[next] != 0 {
      // The record at `next` may fill the hole if the hole lies between its home and it.
      if (next - home(hashes[next])) & mask >= (next - hole) & mask {
        (slots[hole], hashes[hole]) = (slots[next], hashes[next])
        hole = next
      }
      next = (next + 1) & mask
    }
    (slots[hole], hashes[hole]) = (nil, 0)
    count -= 1
  }

  private mutating func grow() {
    let (oldSlots, oldHashes) = (slots, hashes)
    slots = Array(repeating: nil, count: oldSlots.count * 2)
    hashes = Array(repeating: 0, count: oldSlots.count * 2)
    for (record, hash) in zip(oldSlots, oldHashes) where hash != 0 {
      var index = home(hash)
      while hashes[index] != 0 { index = (index + 1) & mask }
      (slots[index], hashes[index]) = (record, hash)
    }
  }
}
