import Core
import Foundation
import Logging
import SwiftProtobuf
import Testing

@testable import Persistence

/// The journal on real files: what a store records comes back in a new store, a torn
/// end is dropped, damage before it stops the replay, a snapshot's cut removes segments.
@Suite struct JournalTests {
  let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kq-journal-\(UUID().uuidString.prefix(8))").path

  static func options() -> StoreOptions {
    var options = StoreOptions()
    options.minLockDuration = .milliseconds(10)
    options.minLifespan = .milliseconds(10)
    options.privilegedClientID = "admin"
    return options
  }

  /// A store writing to a journal (`always`), given to `body`; the journal is stopped after.
  func record(_ body: (Store, Journal) throws -> Void) throws {
    let journal = try Journal(directory: directory, mode: .always, logger: Logger(label: "test"))
    let store = Store(options: Self.options(), journal: journal)
    _ = try journal.replay(into: store, after: 0, truncateCorrupt: false)
    journal.start { store.lastEventSequence }
    try body(store, journal)
    journal.stop()
  }

  /// A new store with the journal replayed into it.
  func reopen(after covered: UInt64 = 0, truncateCorrupt: Bool = false, into store: Store = Store(options: options()))
    throws -> (Store, Journal.Replayed)
  {
    let journal = try Journal(directory: directory, mode: .always, logger: Logger(label: "test"))
    return (store, try journal.replay(into: store, after: covered, truncateCorrupt: truncateCorrupt))
  }

  func segmentPaths() throws -> [String] {
    try SegmentFile.numbers(in: directory).map { SegmentFile.path(directory, $0) }
  }

  @Test func everyKindOfChangeComesBack() throws {
    var sequence: UInt64 = 0
    try record { store, _ in
      try store.set("gone", value: Data("x".utf8), by: "alice")
      try store.set("locked", value: Data("mine".utf8), lockDuration: .seconds(60), lifespan: .seconds(3600), by: "alice")
      try store.set("versions", value: Data("v1".utf8), contentType: "text/x-one", by: "bob")
      try store.set("versions", value: Data("v2".utf8), by: "bob")
      try store.set("unlocked", value: Data("u".utf8), lockDuration: .seconds(60), by: "bob")
      try store.unlock("unlocked", by: "bob")
      try store.delete("gone", by: "alice")
      try store.register("carol")
      try store.setReadOnly(true, by: "admin")
      _ = try store.get("versions", by: "dave")  // a read: its event id only
      sequence = store.lastEventSequence
    }
    let (store, replayed) = try reopen()
    #expect(replayed.records > 8)
    #expect(store.lastEventSequence == sequence)
    #expect(throws: StoreError.self) { try store.get("gone", by: "alice") }
    #expect(try store.get("versions", by: "bob") == Data("v2".utf8))
    #expect(try store.revision("versions", version: 1, by: "bob").value == Data("v1".utf8))
    #expect(try store.revision("versions", version: 1, by: "bob").contentType == "text/x-one")
    let locked = try store.inspect("locked", by: "alice")
    #expect(locked.locked)
    #expect(locked.lifespan == .seconds(3600))
    #expect(try store.get("locked", by: "alice") == Data("mine".utf8))
    #expect(throws: StoreError.self) { try store.get("locked", by: "bob") }
    #expect(try !store.inspect("unlocked", by: "x").locked)
    #expect(store.stats().clientIDs == 1)
    #expect(store.stats().currentLocks == 1)
    #expect(store.isReadOnly)
  }

  @Test func aTornEndIsDroppedAndDamageBeforeItStopsTheReplay() throws {
    try record { store, _ in
      for index in 0..<10 { try store.set("key\(index)", value: Data(repeating: 0x61, count: 100), by: "alice") }
    }
    let path = try #require(try segmentPaths().last)
    let end = try reopen().1.bytes
    // A record the machine stopped in the middle of: its header, half its bytes.
    let file = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    try file.seek(toOffset: UInt64(end))
    file.write(Data([200, 0, 0, 0, 1, 2, 3, 4]) + Data(repeating: 0x62, count: 100))
    try file.close()
    let (store, replayed) = try reopen()
    #expect(replayed.bytes == end)
    #expect(store.stats().keys == 10)
    // What was dropped is gone from the file: a later segment does not make it damage.
    #expect(try reopen().1.bytes == end)

    // One changed byte in the first record.
    let damaged = try FileHandle(forUpdating: URL(fileURLWithPath: path))
    try damaged.seek(toOffset: 20)
    damaged.write(Data([0xFF]))
    try damaged.close()
    #expect {
      try reopen()
    } throws: { error in
      guard case JournalError.corrupt(let at, let offset) = error else { return false }
      return at == path && offset == 0 && "\(error)".contains("byte 0")
    }
    let (truncated, kept) = try reopen(truncateCorrupt: true)
    #expect(kept.records == 0)
    #expect(truncated.stats().keys == 0)
  }

  @Test func aSnapshotCutsTheJournal() throws {
    var snapshot: StoreSnapshot?
    try record { store, journal in
      try store.set("before", value: Data("1".utf8), by: "alice")
      snapshot = store.snapshot()
      try store.set("after", value: Data("2".utf8), by: "alice")
      journal.removeSegments(through: snapshot!.journalSegment)
    }
    let taken = try #require(snapshot)
    #expect(taken.journalSegment >= 1)
    #expect(try SegmentFile.numbers(in: directory).allSatisfy { $0 > taken.journalSegment })
    // The snapshot holds "before", the journal after its cut "after".
    let store = Store(options: Self.options())
    for chunk in SnapshotChunks(taken, writerVersion: "test") {
      #expect(try SnapshotCodec.restore(chunk: chunk, into: store) ?? taken.journalSegment == taken.journalSegment)
    }
    let (restored, replayed) = try reopen(after: taken.journalSegment, into: store)
    #expect(try restored.get("before", by: "x") == Data("1".utf8))
    #expect(try restored.get("after", by: "x") == Data("2".utf8))
    #expect(replayed.records >= 1)
  }

  @Test func aWriteUnderAlwaysIsAnsweredOnceOnDisk() async throws {
    let journal = try Journal(directory: directory, mode: .always, logger: Logger(label: "test"))
    let store = Store(options: Self.options(), journal: journal)
    journal.start { store.lastEventSequence }
    defer { journal.stop() }
    #expect(store.waitsForJournal)
    try store.set("k", value: Data("v".utf8), by: "alice")
    try await store.durable()
    // On disk now: a second reader of the directory sees it (the lock is per process).
    let path = try #require(try segmentPaths().last)
    let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    #expect(bytes.range(of: Data("alice".utf8)) != nil)
    let figures = try #require(store.stats().journal)
    #expect(figures.durability == "always" && figures.bytes > 0 && figures.lastSync != nil && !figures.failing)
  }

  /// The hand-written encoding is byte for byte what the generated code writes.
  @Test func handEncodedRecordsAreWhatTheGeneratedCodeWrites() throws {
    let now = Date()
    let plain = SnapshotKey(
      key: "ключ", value: Data("value".utf8), contentType: "text/plain", hash: 42, version: 3, created: now,
      updated: nil, createdBy: "alice", lock: nil, lifespan: nil)
    var full = plain
    full.updated = now + 1
    full.lock = SnapshotLock(owner: "alice", created: now, expires: now + 60)
    full.lifespan = SnapshotLifespan(duration: .seconds(3600), setAt: now)
    for key in [plain, full] {
      for valueChanged in [true, false] {
        var record = Keyquarry_Snapshot_KeyRecord(key)
        var generated = Keyquarry_Snapshot_JournalRecord()
        if valueChanged {
          generated.put = record
        } else {
          record.value = Data()
          generated.entry = record
        }
        generated.sequence = 7
        let hand = JournalCodec.encode(.put(key, valueChanged: valueChanged, sequence: 7))
        #expect(hand == (try generated.serializedBytes() as [UInt8]))
      }
    }
    for keepHistory in [true, false] {
      var generated = Keyquarry_Snapshot_JournalRecord()
      generated.remove = .with {
        $0.key = "gone"
        $0.keepHistory = keepHistory
      }
      generated.sequence = 9
      #expect(JournalCodec.encode(.remove(key: "gone", keepHistory: keepHistory, sequence: 9))
        == (try generated.serializedBytes() as [UInt8]))
    }
  }
}
