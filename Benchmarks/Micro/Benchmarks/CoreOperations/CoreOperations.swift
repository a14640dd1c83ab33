// The store's hot operations, 1,000 calls per sample (figures are per 1,000), with
// allocations counted by the malloc interposer. Run: cd Benchmarks/Micro && swift package benchmark
import Benchmark
import Core
import Foundation

let value = Data(repeating: 0x61, count: 100)
let otherValue = Data(repeating: 0x62, count: 100)

/// Writes alternate between two values: a Set that changes nothing publishes no event.
nonisolated(unsafe) var writes = 0
func nextValue() -> Data {
  writes += 1
  return writes & 1 == 0 ? value : otherValue
}

/// A store holding `count` keys "key/0" … of 100-byte values, without revision history.
func filledStore(_ count: Int) -> (Store, [String]) {
  var options = StoreOptions()
  options.revisionLimit = 0
  let store = Store(options: options)
  let keys = (0..<count).map { "key/\($0)" }
  for key in keys { _ = try? store.set(key, value: value, by: "bench") }
  return (store, keys)
}

let benchmarks: @Sendable () -> Void = {
  Benchmark.defaultConfiguration = .init(
    metrics: [.throughput, .wallClock, .mallocCountTotal, .peakMemoryResident],
    scalingFactor: .kilo, maxDuration: .seconds(2), maxIterations: 100_000)

  let (store, keys) = filledStore(10_000)

  Benchmark("Get (100 B value)") { benchmark in
    for index in benchmark.scaledIterations {
      blackHole(try? store.get(keys[index % keys.count], by: "bench"))
    }
  }

  Benchmark("Set (update, 100 B value)") { benchmark in
    for index in benchmark.scaledIterations {
      blackHole(try? store.set(keys[index % keys.count], value: nextValue(), by: "bench"))
    }
  }

  Benchmark("Set with lifespan") { benchmark in
    for index in benchmark.scaledIterations {
      blackHole(try? store.set(keys[index % keys.count], value: nextValue(), lifespan: .seconds(3600), by: "bench"))
    }
  }

  for subscribers in [1, 100] {
    Benchmark("Set, events fanned out to \(subscribers) subscribers") { benchmark in
      let (store, keys) = filledStore(1_000)
      let watches = (0..<subscribers).map { _ in try! store.watch(EventFilter()) }
      let drains = watches.map { watch in
        Task {
          var received = 0
          for await _ in watch.events { received += 1 }
          return received
        }
      }
      benchmark.startMeasurement()
      for index in benchmark.scaledIterations {
        blackHole(try? store.set(keys[index % keys.count], value: nextValue(), by: "bench"))
      }
      benchmark.stopMeasurement()
      for watch in watches { watch.finish() }
      var received = 0
      for drain in drains { received += await drain.value }
      precondition(received > 0, "the subscribers got no events: the benchmark measures nothing")
    }
  }

  let (large, _) = filledStore(100_000)
  Benchmark("ListKeys with a pattern over 100k keys", configuration: .init(scalingFactor: .one, maxIterations: 50)) {
    benchmark in
    for _ in benchmark.scaledIterations {
      blackHole(try? large.listKeys(pattern: "^key/12"))
    }
  }
}
