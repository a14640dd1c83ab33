// The journal's format, measured: the same group commit over a plain append-only file of
// checksummed records and over SQLite in WAL mode through GRDB (one transaction per
// group), as issue 25 asks. Writer threads each append records of --size bytes one after
// another; under `always` a writer waits until its record is on disk (fdatasync / a
// synchronous=FULL commit), under `everysec` it does not and the disk is synced once a
// second. Prints records/s and the process's CPU per record for each.
import Foundation
import GRDB
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

enum Mode: String, CaseIterable { case everysec, always }

/// Where a group's records go.
protocol Sink: Sendable {
  func write(_ records: [Data]) throws
  func sync() throws
}

final class FileSink: Sink {
  let fd: Int32
  init(path: String) { fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o644) }
  func write(_ records: [Data]) throws {
    var buffer = Data()
    buffer.reserveCapacity(records.reduce(0) { $0 + $1.count + 12 })
    for record in records {
      var header = (UInt32(record.count).littleEndian, crc32(record).littleEndian, UInt32(0))
      withUnsafeBytes(of: &header) { buffer.append(contentsOf: $0.prefix(8)) }
      buffer.append(record)
    }
    try buffer.withUnsafeBytes { bytes in
      var done = 0
      while done < bytes.count {
        let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
        guard n > 0 else { throw POSIXError(.EIO) }
        done += n
      }
    }
  }
  func sync() throws { guard fdatasync(fd) == 0 else { throw POSIXError(.EIO) } }
}

final class SQLiteSink: Sink {
  let queue: DatabaseQueue
  let mode: Mode
  let sequence = Atomic<Int64>(0)
  init(path: String, mode: Mode) throws {
    self.mode = mode
    var configuration = Configuration()
    configuration.journalMode = .wal
    configuration.prepareDatabase { db in
      try db.execute(sql: "PRAGMA synchronous = \(mode == .always ? "FULL" : "NORMAL")")
    }
    queue = try DatabaseQueue(path: path, configuration: configuration)
    try queue.write { try $0.execute(sql: "CREATE TABLE journal (seq INTEGER PRIMARY KEY, body BLOB NOT NULL)") }
  }
  func write(_ records: [Data]) throws {
    try queue.write { db in
      let statement = try db.cachedStatement(sql: "INSERT INTO journal (seq, body) VALUES (?, ?)")
      for record in records {
        try statement.execute(arguments: [sequence.add(1, ordering: .relaxed).newValue, record])
      }
    }
  }
  /// synchronous=FULL syncs each commit already; under NORMAL a checkpoint syncs the WAL.
  func sync() throws {
    guard mode == .everysec else { return }
    _ = try queue.writeWithoutTransaction { try $0.checkpoint(.passive) }
  }
}

/// Group commit: writers append to one buffer; one flusher writes what has gathered as
/// one group, syncs it under `always`, and wakes the writers it holds.
final class GroupCommit: @unchecked Sendable {
  let sink: any Sink
  let mode: Mode
  let condition = NSCondition()
  var pending: [Data] = []
  var appended = 0
  var durable = 0
  var stopped = false
  /// The flusher's own CPU in writing and syncing: what the format costs.
  var sinkSeconds = 0.0
  var groups = 0

  init(sink: any Sink, mode: Mode) { (self.sink, self.mode) = (sink, mode) }

  func append(_ record: Data) {
    condition.lock()
    pending.append(record)
    appended += 1
    let mine = appended
    condition.broadcast()
    if mode == .always { while durable < mine { condition.wait() } }
    condition.unlock()
  }

  func run() {
    var lastSync = Date()
    while true {
      condition.lock()
      while pending.isEmpty && !stopped { condition.wait(until: Date() + 0.1) ; if pending.isEmpty && mode == .everysec { break } }
      let group = pending
      pending.removeAll(keepingCapacity: true)
      let upTo = appended
      let stop = stopped && group.isEmpty
      condition.unlock()
      if stop { return }
      let before = threadCPUSeconds()
      if !group.isEmpty { try! sink.write(group) }
      if mode == .always { try! sink.sync() } else if Date().timeIntervalSince(lastSync) >= 1 {
        try! sink.sync()
        lastSync = Date()
      }
      sinkSeconds += threadCPUSeconds() - before
      groups += group.isEmpty ? 0 : 1
      condition.lock()
      durable = upTo
      condition.broadcast()
      condition.unlock()
    }
  }
}

let crcTable: [UInt32] = (0..<256).map { index in
  (0..<8).reduce(UInt32(index)) { crc, _ in (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
}

func crc32(_ data: Data) -> UInt32 {
  data.withUnsafeBytes { bytes in
    crcTable.withUnsafeBufferPointer { table in
      ~bytes.reduce(UInt32(0xFFFF_FFFF)) { crc, byte in table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
    }
  }
}

func cpuSeconds() -> Double {
  var usage = rusage()
  getrusage(RUSAGE_SELF.rawValue, &usage)
  return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

func threadCPUSeconds() -> Double {
  var time = timespec()
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
  return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

let arguments = CommandLine.arguments
func option(_ name: String, _ fallback: Int) -> Int {
  arguments.firstIndex(of: name).flatMap { Int(arguments[$0 + 1]) } ?? fallback
}
let writers = option("--writers", 50)
let perWriter = option("--records", 2000)
let size = option("--size", 150)
let directory = arguments.firstIndex(of: "--dir").map { arguments[$0 + 1] } ?? NSTemporaryDirectory()

print("format  mode      writers  records/s  CPU µs/record  of it writing and syncing  records/group")
for mode in Mode.allCases {
  for format in ["file", "sqlite"] {
    let path = directory + "/journal-bench-\(format)-\(mode)"
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    let sink: any Sink = format == "file" ? FileSink(path: path) : try SQLiteSink(path: path, mode: mode)
    let group = GroupCommit(sink: sink, mode: mode)
    let flusher = Thread { group.run() }
    flusher.start()
    let record = Data(repeating: 0x61, count: size)
    let (start, cpu) = (Date(), cpuSeconds())
    let done = DispatchGroup()
    for _ in 0..<writers {
      done.enter()
      Thread {
        for _ in 0..<perWriter { group.append(record) }
        done.leave()
      }.start()
    }
    done.wait()
    group.condition.lock()
    group.stopped = true
    group.condition.broadcast()
    group.condition.unlock()
    while !flusher.isFinished { usleep(1000) }
    let (seconds, used) = (Date().timeIntervalSince(start), cpuSeconds() - cpu)
    let count = Double(writers * perWriter)
    print(String(format: "%-7@ %-9@ %7d  %9.0f  %13.2f  %25.2f  %13.0f", format, mode.rawValue, writers, count / seconds,
      used / count * 1e6, group.sinkSeconds / count * 1e6, count / Double(max(1, group.groups))))
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
  }
}
