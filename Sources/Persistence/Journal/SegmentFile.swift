import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The journal segment being written: appends at its end, syncs, and keeps space
/// allocated ahead (`posix_fallocate`, as etcd's WAL), so that a full disk shows while
/// there is still room for the writes already accepted, and a sync need not also
/// write the file's size.
final class SegmentFile {
  let number: UInt64
  let path: String
  private let descriptor: Int32
  /// Bytes written, and of them those a sync has made durable.
  private(set) var size = 0
  private(set) var syncedSize = 0
  private var allocated = 0
  static let allocationStep = 64 << 20

  /// Creates the segment (empty) and makes its name durable.
  init(directory: String, number: UInt64) throws {
    self.number = number
    path = SegmentFile.path(directory, number)
    descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { throw JournalError.io("cannot create \(path)", errno) }
    try SegmentFile.syncDirectory(directory)
  }

  deinit { close(descriptor) }

  static func path(_ directory: String, _ number: UInt64) -> String {
    directory + "/" + String(format: "%020llu", number) + ".journal"
  }

  /// The segment numbers in `directory`, oldest first.
  static func numbers(in directory: String) throws -> [UInt64] {
    try FileManager.default.contentsOfDirectory(atPath: directory)
      .compactMap { $0.hasSuffix(".journal") ? UInt64($0.dropLast(".journal".count)) : nil }.sorted()
  }

  static func syncDirectory(_ directory: String) throws {
    let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard descriptor >= 0 else { throw JournalError.io("cannot open \(directory)", errno) }
    defer { close(descriptor) }
    guard fsync(descriptor) == 0 else { throw JournalError.io("cannot sync \(directory)", errno) }
  }

  /// Writes `bytes` at the end, allocating first when they would not fit.
  func append(_ bytes: [UInt8]) throws {
    if size + bytes.count > allocated { try allocate(atLeast: size + bytes.count) }
    try bytes.withUnsafeBytes { buffer in
      var done = 0
      while done < buffer.count {
        let written = pwrite(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(size + done))
        if written < 0 && errno == EINTR { continue }
        guard written > 0 else { throw JournalError.io("cannot write \(path)", errno) }
        done += written
      }
    }
    size += bytes.count
  }

  /// Keeps at least half a step allocated past the end.
  func allocateAhead() throws {
    if allocated - size < SegmentFile.allocationStep / 2 { try allocate(atLeast: size + SegmentFile.allocationStep) }
  }

  private func allocate(atLeast end: Int) throws {
    let target = (end + SegmentFile.allocationStep - 1) / SegmentFile.allocationStep * SegmentFile.allocationStep
    let result = posix_fallocate(descriptor, off_t(allocated), off_t(target - allocated))
    guard result == 0 else { throw JournalError.io("cannot allocate \(target) bytes for \(path)", result) }
    allocated = target
  }

  func sync() throws {
    guard fdatasync(descriptor) == 0 else { throw JournalError.io("cannot sync \(path)", errno) }
    syncedSize = size
  }

  /// After a failed write or sync: what was written since the last sync counts as not
  /// written, and will be written again over whatever reached the file.
  func forgetUnsynced() { size = syncedSize }
}

public enum JournalError: Error, CustomStringConvertible {
  case io(String, Int32)
  /// A damaged record before the end of the journal.
  case corrupt(path: String, offset: Int)
  case inUse(String)

  public var description: String {
    switch self {
    case .io(let what, let code): "\(what): \(String(cString: strerror(code)))"
    case .inUse(let directory): "another keyquarry server uses the journal \(directory)"
    case .corrupt(let path, let offset):
      "the journal is damaged at byte \(offset) of \(path), before its end: start-up stops rather than lose what "
        + "follows (set journal.truncate_corrupt: true to drop the journal from there)"
    }
  }
}
