import Core
import Foundation
import Logging
import Synchronization

/// The write-ahead journal (`durability: everysec` or `always`): every change the store
/// applies, framed and checksummed, appended to numbered segment files in a directory.
/// Writers only add their record to a buffer; one flusher thread writes what gathered
/// with one `pwrite` and syncs it with one `fdatasync` (group commit). Under `always` a
/// call is answered once the flusher has synced its record (`whenDurable`); under
/// `everysec` the flusher writes as records gather and syncs once a second.
///
/// A snapshot cuts the journal (`cut`, with every shard locked): the segments up to the
/// cut hold nothing the snapshot does not, and are removed once it is saved.
public final class Journal: StoreJournal, @unchecked Sendable {
  public enum Mode: String, Sendable { case everysec, always }

  public let directory: String
  public let mode: Mode
  let logger: Logger
  /// One server per journal: held until `stop` (or the journal's end, if never started).
  private let directoryLock: Mutex<FileLock?>
  /// Guards the fields below it; the flusher waits on it.
  private let condition = NSCondition()
  /// Records of segment `segment` not yet taken by the flusher.
  private var open: [UInt8] = []
  /// Records of ended segments not yet taken by the flusher.
  private var sealed: [Chunk] = []
  private var segment: UInt64 = 1
  /// Bytes recorded since start, and of them those known to be on disk.
  private var appended: UInt64 = 0
  private var durable: UInt64 = 0
  private var waiters: [(upTo: UInt64, done: @Sendable (Bool) -> Void)] = []
  /// The last read-only switch recorded, carried into every new segment.
  private var readOnly: Bool?
  /// Segments a saved snapshot holds: removed once the flusher has closed them.
  private var removable: UInt64 = 0
  private var stopping = false
  private var flusherIdle = false
  private var newestSequence: (@Sendable () -> UInt64)?
  private var sequenceWritten: UInt64 = 0
  private let failing = Atomic<Bool>(false)
  private let flusherDone = DispatchSemaphore(value: 0)
  let status: JournalStatus
  /// Under `everysec`, what the flusher lets gather before it writes.
  static let writeThreshold = 1 << 20

  struct Chunk {
    let segment: UInt64
    let bytes: [UInt8]
    var written = false
  }

  /// Opens (creating) the journal directory. Replay it (`replay`) before `start`.
  public init(directory: String, mode: Mode, logger: Logger) throws {
    (self.directory, self.mode, self.logger) = (directory, mode, logger)
    status = JournalStatus(durability: mode.rawValue)
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    guard let lock = try FileLock(path: directory, exclusive: true) else {
      throw JournalError.inUse(directory)
    }
    directoryLock = Mutex(lock)
  }

  deinit { releaseDirectory() }

  private func releaseDirectory() {
    directoryLock.withLock { lock in
      lock?.release()
      lock = nil
    }
  }

  // MARK: - StoreJournal

  public func record(_ change: JournalChange) {
    let payload = JournalCodec.encode(change)
    let checksum = JournalFrame.checksum(payload)
    condition.lock()
    JournalFrame.append(payload, checksum: checksum, to: &open)
    appended += UInt64(payload.count + JournalFrame.headerSize)
    if case .readOnly(let enable) = change { readOnly = enable }
    if flusherIdle, mode == .always || open.count >= Self.writeThreshold { condition.signal() }
    condition.unlock()
  }

  public func cut() -> UInt64 {
    condition.lock()
    defer { condition.unlock() }
    let ended = segment
    sealed.append(Chunk(segment: ended, bytes: open))
    open = []
    segment += 1
    if let readOnly { record(.readOnly(readOnly), into: &open) }
    condition.signal()
    return ended
  }

  public var refusesWrites: Bool { mode == .always && failing.load(ordering: .relaxed) }

  public var waitsForDisk: Bool { mode == .always }

  public var figures: JournalFigures {
    var figures = status.current
    figures.failing = failing.load(ordering: .relaxed)
    return figures
  }

  /// Calls `done` once every change recorded so far is on disk (true), or could not be
  /// written (false). At once under `everysec`, which never waits for the disk.
  public func whenDurable(_ done: @escaping @Sendable (Bool) -> Void) {
    guard mode == .always else { return done(true) }
    condition.lock()
    guard durable < appended else {
      condition.unlock()
      return done(true)
    }
    waiters.append((appended, done))
    condition.unlock()
  }

  // MARK: - Lifecycle

  /// Starts the flusher; `sequence` reads the store's newest event id, written with each
  /// batch (reads advance it without a change to journal).
  public func start(sequence: @escaping @Sendable () -> UInt64) {
    newestSequence = sequence
    let flusher = Thread { [self] in
      runFlusher()
      flusherDone.signal()
    }
    flusher.name = "keyquarry journal"
    flusher.start()
  }

  /// Writes and syncs what is left, and stops the flusher.
  public func stop() {
    condition.lock()
    stopping = true
    condition.signal()
    condition.unlock()
    flusherDone.wait()
    releaseDirectory()
  }

  /// Removes the segments up to `segment` (a saved snapshot holds them).
  public func removeSegments(through segment: UInt64) {
    condition.lock()
    removable = max(removable, segment)
    condition.unlock()
  }

  /// Where new changes go after a replay: past every segment there is or was.
  func setNextSegment(_ number: UInt64) {
    condition.lock()
    segment = number
    condition.unlock()
  }

  private func record(_ change: JournalChange, into buffer: inout [UInt8]) {
    let payload = JournalCodec.encode(change)
    JournalFrame.append(payload, checksum: JournalFrame.checksum(payload), to: &buffer)
    appended += UInt64(payload.count + JournalFrame.headerSize)
  }

  // MARK: - The flusher

  private struct Batch {
    var chunks: [Chunk]
    var upTo: UInt64
    var stop: Bool
    var removable: UInt64
  }

  private func runFlusher() {
    var writer = SegmentWriter(directory: directory, existing: replayedSegments)
    var lastSync = ContinuousClock.now
    var retryAt: ContinuousClock.Instant?
    while true {
      let batch = takeBatch(lastSync: lastSync, retryAt: retryAt)
      writer.removable = batch.removable
      let sync = mode == .always || batch.stop || ContinuousClock.now - lastSync >= .seconds(1)
      do {
        try writer.write(batch.chunks)
        if sync {
          let started = ContinuousClock.now
          try writer.sync()
          lastSync = ContinuousClock.now
          status.synced(took: lastSync - started, bytes: writer.totalBytes)
          finish(upTo: batch.upTo, durable: true)
        }
        try writer.allocateAhead()
        writer.removeSegments()
        if retryAt != nil { recovered() }
        retryAt = nil
      } catch {
        writer.reset()
        retryAt = ContinuousClock.now + .seconds(1)
        failed(error, upTo: batch.upTo)
      }
      if batch.stop && (retryAt == nil || !writer.hasPending || stopAttempts(&writer)) { return }
    }
  }

  /// Segments found at start-up (set by `replay`), removed with the others once a
  /// snapshot holds them.
  var replayedSegments: [(number: UInt64, bytes: Int)] = []

  /// At shutdown, a journal that cannot be written gets a few more tries.
  private var shutdownTries = 0
  private func stopAttempts(_ writer: inout SegmentWriter) -> Bool {
    shutdownTries += 1
    if shutdownTries < 3 { return false }
    logger.error("the journal could not be written at shutdown: the last changes are lost", metadata: ["directory": "\(directory)"])
    return true
  }

  /// Waits for work and takes it: under `always` any record, under `everysec` a full
  /// buffer or the next second's sync.
  private func takeBatch(lastSync: ContinuousClock.Instant, retryAt: ContinuousClock.Instant?) -> Batch {
    condition.lock()
    defer { condition.unlock() }
    let wakeAt = retryAt ?? (lastSync + .seconds(1))
    while !stopping {
      let due = mode == .always ? !open.isEmpty : open.count >= Self.writeThreshold
      if retryAt == nil && (due || !sealed.isEmpty) { break }
      let wait = wakeAt - ContinuousClock.now
      if wait <= .zero { break }
      flusherIdle = true
      _ = condition.wait(until: Date() + Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18)
      flusherIdle = false
    }
    if let newest = newestSequence?(), newest > sequenceWritten {
      record(.sequence(newest), into: &open)
      sequenceWritten = newest
    }
    var chunks = sealed
    if !open.isEmpty { chunks.append(Chunk(segment: segment, bytes: open)) }
    sealed = []
    open = []
    return Batch(chunks: chunks, upTo: appended, stop: stopping, removable: removable)
  }

  private func finish(upTo: UInt64, durable isDurable: Bool) {
    condition.lock()
    if isDurable { durable = max(durable, upTo) }
    let done = waiters.filter { $0.upTo <= upTo }
    waiters.removeAll { $0.upTo <= upTo }
    condition.unlock()
    for waiter in done { waiter.done(isDurable) }
  }

  private func failed(_ error: any Error, upTo: UInt64) {
    if !failing.exchange(true, ordering: .relaxed) {
      logger.error(
        "the journal cannot be written: \(mode == .always ? "writes are refused" : "changes are kept in memory") until it can",
        metadata: ["directory": "\(directory)", "error": "\(error)"])
    }
    status.failed()
    finish(upTo: upTo, durable: false)
  }

  private func recovered() {
    failing.store(false, ordering: .relaxed)
    logger.notice("the journal is written again", metadata: ["directory": "\(directory)"])
  }
}
