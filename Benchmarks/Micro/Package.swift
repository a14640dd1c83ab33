// swift-tools-version:6.2
// Core micro-benchmarks with ordo-one/benchmark: ops/s and allocations per operation.
// A package of its own so that the main build stays lean:
//   cd Benchmarks/Micro && swift package benchmark
import PackageDescription

let package = Package(
  name: "KeyquarryMicroBenchmarks",
  platforms: [.macOS(.v15)],
  dependencies: [
    .package(name: "keyquarry", path: "../.."),
    .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
  ],
  targets: [
    .executableTarget(
      name: "CoreOperations",
      dependencies: [
        .product(name: "KeyquarryCore", package: "keyquarry"),
        .product(name: "Benchmark", package: "benchmark"),
      ],
      path: "Benchmarks/CoreOperations",
      plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    )
  ]
)
