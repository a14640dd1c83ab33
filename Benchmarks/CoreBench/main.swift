// Core throughput and memory: Set/Get ops/s on 1 and 2 threads, bytes per key for
// 1M 100-byte values. Run with scripts/bench/core (release build); not a test.
import Core
import Dispatch
import Foundation

let keyCount = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 1_000_000
let value = Data(repeating: 0x61, count: 100)
let keys = (0..<keyCount).map { "key/\($0)" }

func residentBytes() -> Int {
  guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
    let pages = Int(statm.split(separator: " ")[1])
  else { return 0 }
  return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

func measure(_ label: String, operations: Int, threads: Int, _ body: @Sendable (Int) -> Void) {
  let start = DispatchTime.now()
  DispatchQueue.concurrentPerform(iterations: threads) { thread in body(thread) }
  let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
  let rate = Double(operations) / seconds
  print(String(format: "%-34@ %10.0f ops/s  (%d ops, %d thread%@, %.2f s)", label as NSString, rate, operations, threads, threads == 1 ? "" : "s", seconds))
}

var options = StoreOptions()
options.revisionLimit = 0  // measure the store itself, not history copies
let baseline = residentBytes()
let store = Store(options: options)

measure("Set (new keys)", operations: keyCount, threads: 1) { _ in
  for key in keys { _ = try? store.set(key, value: value, by: "bench") }
}
let perKey = Double(residentBytes() - baseline) / Double(keyCount)
print(String(format: "%-34@ %10.0f bytes/key (RSS, %d keys of 100 B)", "Memory" as NSString, perKey, keyCount))

for threads in [1, 2] {
  measure("Get", operations: keyCount, threads: threads) { thread in
    var index = thread
    while index < keyCount {
      _ = try? store.get(keys[index], by: "bench")
      index += threads
    }
  }
  measure("Set (update)", operations: keyCount, threads: threads) { thread in
    var index = thread
    while index < keyCount {
      _ = try? store.set(keys[index], value: value, by: "bench")
      index += threads
    }
  }
  measure("Inspect", operations: keyCount, threads: threads) { thread in
    var index = thread
    while index < keyCount {
      _ = try? store.inspect(keys[index], by: "bench")
      index += threads
    }
  }
}

// Fan-out: every Get's ACCESSED event offered to 10 watchers (drained concurrently).
let watchers = (0..<10).map { _ in try! store.watch(EventFilter()) }
let drains = watchers.map { watcher in Task { for await _ in watcher.events {} } }
measure("Get with 10 watchers", operations: keyCount / 4, threads: 2) { thread in
  var index = thread
  while index < keyCount / 4 {
    _ = try? store.get(keys[index], by: "bench")
    index += 2
  }
}
store.endWatches()
for drain in drains { await drain.value }
