// Snapshot and restore: time and peak memory for 100k and 1M keys (100-byte values) on
// SQLite and, when KQ_BENCH_POSTGRES names a database URL, PostgreSQL; and the longest
// stall a writer sees while a snapshot is taken. Run with scripts/bench/snapshot.
import Core
import Dispatch
import Foundation
import Logging
import Persistence
import Synchronization

func peakRSS() -> Int {
  // VmHWM: the peak resident set size so far, in kB.
  let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
  let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
  return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
}

func seconds(since start: ContinuousClock.Instant) -> Double {
  let elapsed = (ContinuousClock.now - start).components
  return Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
}

let counts = CommandLine.arguments.dropFirst().compactMap { Int($0) }
var databases = [("SQLite", "sqlite://" + FileManager.default.temporaryDirectory.appendingPathComponent("kq-bench-\(UUID().uuidString).db").path)]
if let postgres = ProcessInfo.processInfo.environment["KQ_BENCH_POSTGRES"] { databases.append(("PostgreSQL", postgres)) }
let value = Data(repeating: 0x61, count: 100)
var logger = Logger(label: "bench")
logger.logLevel = .warning

print("| keys | database | snapshot s | restore s | peak RSS MB | longest writer stall ms |")
print("|---|---|---|---|---|---|")
for count in counts.isEmpty ? [100_000, 1_000_000] : counts {
  var options = StoreOptions()
  options.revisionLimit = 0
  let store = Store(options: options)
  for index in 0..<count { try store.set("key/\(index)", value: value, by: "bench") }
  for (label, url) in databases {
    let database = try SnapshotDatabases.open(url)
    try await database.prepare()
    let name = "bench-\(count)-\(UUID().uuidString.prefix(6))"
    let snapshotter = Snapshotter(store: store, database: database, name: name, writerVersion: "bench", logger: logger)

    // A writer updating keys the whole time; its slowest Set is the stall.
    let stop = Atomic<Bool>(false)
    let stall = Mutex<Double>(0)
    let writer = Thread {
      var index = 0
      while !stop.load(ordering: .relaxed) {
        let started = ContinuousClock.now
        _ = try? store.set("key/\(index % count)", value: value, by: "writer")
        let took = seconds(since: started)
        stall.withLock { $0 = max($0, took) }
        index += 1
      }
    }
    writer.start()
    let started = ContinuousClock.now
    try await snapshotter.save()
    let saveSeconds = seconds(since: started)
    stop.store(true, ordering: .relaxed)
    try await Task.sleep(for: .milliseconds(50))

    let restored = Store(options: options)
    let restoreStarted = ContinuousClock.now
    try await Snapshotter(store: restored, database: database, name: name, writerVersion: "bench", logger: logger).restore()
    let restoreSeconds = seconds(since: restoreStarted)
    precondition(restored.stats().keys == count, "restored \(restored.stats().keys) of \(count) keys")
    try await database.close()
    print(String(format: "| %d | %@ | %.2f | %.2f | %d | %.1f |", count, label as NSString, saveSeconds, restoreSeconds,
      peakRSS() / 1_000_000, stall.withLock { $0 } * 1000))
  }
}
