import Core
import Foundation
import Logging

#if canImport(Glibc)
  import Glibc
#endif

extension Journal {
  public struct Replayed: Sendable {
    public var segments = 0
    public var records = 0
    public var bytes = 0
    public var seconds = 0.0
  }

  /// Whether `directory` holds journal segments (left by a run with a journal).
  public static func hasSegments(in directory: String) -> Bool {
    !((try? SegmentFile.numbers(in: directory)) ?? []).isEmpty
  }

  /// Removes every segment (`start_fresh`): what they hold is not to come back.
  public func discard() throws {
    let numbers = try SegmentFile.numbers(in: directory)
    for number in numbers { unlink(SegmentFile.path(directory, number)) }
    setNextSegment((numbers.last ?? 0) + 1)
  }

  /// Applies the segments after `covered` (the last one the restored snapshot holds; 0:
  /// all) to `store`, oldest first, and removes the covered ones. A damaged record at
  /// the very end of the last segment (a write the machine did not finish) is dropped;
  /// one anywhere else stops start-up (`JournalError.corrupt`), or with
  /// `truncateCorrupt` the journal is cut there. New changes go to a new segment.
  public func replay(into store: Store, after covered: UInt64, truncateCorrupt: Bool) throws -> Replayed {
    let started = ContinuousClock.now
    var replayed = Replayed()
    var kept: [(number: UInt64, bytes: Int)] = []
    let numbers = try SegmentFile.numbers(in: directory)
    for number in numbers where number <= covered { unlink(SegmentFile.path(directory, number)) }
    let remaining = numbers.filter { $0 > covered }
    segmentLoop: for (index, number) in remaining.enumerated() {
      let path = SegmentFile.path(directory, number)
      let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
      let (records, end) = try data.withUnsafeBytes { bytes in
        try applyRecords(bytes, path: path, to: store, isLast: index == remaining.count - 1, truncateCorrupt: truncateCorrupt)
      }
      replayed.records += records
      replayed.segments += 1
      replayed.bytes += end.offset
      kept.append((number, end.offset))
      if end.isDamaged {
        // Only what comes before the damage is kept; later segments are gone with it.
        guard truncate(path, off_t(end.offset)) == 0 else { throw JournalError.io("cannot truncate \(path)", errno) }
        for later in remaining[(index + 1)...] { unlink(SegmentFile.path(directory, later)) }
        break segmentLoop
      }
    }
    replayedSegments = kept
    setNextSegment(max(remaining.last ?? 0, covered) + 1)
    replayed.seconds = (ContinuousClock.now - started) / .seconds(1)
    status.replayed(replayed.records, bytes: replayed.bytes)
    return replayed
  }

  /// Applies the records of one segment; returns how many, and where they end (and
  /// whether damage, dropped, ends them).
  private func applyRecords(
    _ bytes: UnsafeRawBufferPointer, path: String, to store: Store, isLast: Bool, truncateCorrupt: Bool
  ) throws -> (Int, (offset: Int, isDamaged: Bool)) {
    var offset = 0
    var records = 0
    while true {
      switch JournalFrame.read(bytes, at: offset) {
      case .end:
        return (records, (offset, false))
      case .record(let range, let next):
        guard let change = try? JournalCodec.decode(Data(bytes[range])) else {
          throw JournalError.corrupt(path: path, offset: offset)
        }
        store.replay(change)
        records += 1
        offset = next
      case .damaged:
        if isLast && JournalFrame.isTornTail(bytes, at: offset) {
          logger.warning(
            "dropped an unfinished record at the end of the journal (the machine stopped while writing it; it was never acknowledged)",
            metadata: ["path": "\(path)", "offset": "\(offset)"])
          return (records, (offset, true))
        }
        guard truncateCorrupt else { throw JournalError.corrupt(path: path, offset: offset) }
        logger.error(
          "the journal is damaged: journal.truncate_corrupt drops it from here",
          metadata: ["path": "\(path)", "offset": "\(offset)"])
        return (records, (offset, true))
      }
    }
  }
}
