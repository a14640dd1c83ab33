import Foundation

/// The flusher's side of the journal: the segment file being written, what was written
/// to it since its last sync (kept, to be written again after a failed write or sync:
/// after a failed `fdatasync` the kernel may have dropped those pages), and the closed
/// segments, removed once a snapshot holds them.
struct SegmentWriter {
  let directory: String
  private var file: SegmentFile?
  private var unsynced: [Journal.Chunk] = []
  /// Closed segments and their sizes.
  private var closed: [(number: UInt64, bytes: Int)]
  var removable: UInt64 = 0

  init(directory: String, existing: [(number: UInt64, bytes: Int)]) {
    self.directory = directory
    closed = existing
  }

  /// The bytes in every segment.
  var totalBytes: Int { closed.reduce(file?.size ?? 0) { $0 + $1.bytes } }

  var hasPending: Bool { !unsynced.isEmpty }

  /// Writes `chunks` (and what a failure left unwritten) in order, moving to a new
  /// segment file where they do; a segment is synced before the next one starts.
  mutating func write(_ chunks: [Journal.Chunk]) throws {
    unsynced += chunks
    var index = 0
    while index < unsynced.count {
      if unsynced[index].written {
        index += 1
        continue
      }
      if file?.number != unsynced[index].segment {
        if let old = file {
          try sync()
          closed.append((old.number, old.size))
          file = nil
          index = 0
          continue
        }
        file = try SegmentFile(directory: directory, number: unsynced[index].segment)
      }
      try file!.append(unsynced[index].bytes)
      unsynced[index].written = true
      index += 1
    }
  }

  /// Syncs the open segment; everything written is then durable.
  mutating func sync() throws {
    if let file, file.size > file.syncedSize { try file.sync() }
    unsynced.removeAll { $0.written }
  }

  mutating func allocateAhead() throws { try file?.allocateAhead() }

  /// After a failure: what was not synced is written again next time.
  mutating func reset() {
    file?.forgetUnsynced()
    for index in unsynced.indices { unsynced[index].written = false }
  }

  /// Removes the closed segments a saved snapshot holds.
  mutating func removeSegments() {
    for segment in closed where segment.number <= removable {
      unlink(SegmentFile.path(directory, segment.number))
    }
    closed.removeAll { $0.number <= removable }
  }
}
