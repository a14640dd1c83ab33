// swift-tools-version:6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
  .enableUpcomingFeature("ExistentialAny"),
  .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
  name: "keyquarry",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "keyquarry", targets: ["CLI"]),
    // The store alone, for Benchmarks/Micro (ordo-one/benchmark) and other embedders.
    .library(name: "KeyquarryCore", targets: ["Core"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
    .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
    .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
    .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
    .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
    .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
    .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
    .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0", traits: [.defaults, "YAML"]),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
    .package(url: "https://github.com/apple/swift-async-algorithms.git", from: "1.1.4"),
    .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
    .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
    .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
    .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
    .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0"),
    .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
  ],
  targets: [
    // RE2 (Debian libre2-dev), the linear-time regex engine of ListKeys patterns.
    .systemLibrary(name: "CRE2", pkgConfig: "re2", providers: [.apt(["libre2-dev"])]),
    // A C interface to RE2's C++ API, so that Core needs no C++ interoperability.
    .target(name: "RE2Shim", dependencies: ["CRE2"]),
    // glibc's malloc_trim, which the Glibc module does not export.
    .systemLibrary(name: "CMalloc"),
    // The store: no networking, no gRPC.
    .target(
      name: "Core",
      dependencies: [
        "RE2Shim",
        "CMalloc",
        .product(name: "DequeModule", package: "swift-collections"),
        .product(name: "HeapModule", package: "swift-collections"),
        .product(name: "Metrics", package: "swift-metrics"),
      ],
      swiftSettings: swiftSettings
    ),
    // Generated from Protos/ by scripts/generate-protos.sh; committed.
    .target(
      name: "KeyquarryProtos",
      dependencies: [
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
      ]
    ),
    .target(
      name: "GRPCServer",
      dependencies: [
        "Core",
        "KeyquarryProtos",
        .product(name: "DequeModule", package: "swift-collections"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHPACK", package: "swift-nio-http2"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "CompressNIO", package: "compress-nio"),
        .product(name: "HummingbirdCore", package: "hummingbird"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "Tracing", package: "swift-distributed-tracing"),
        .product(name: "Instrumentation", package: "swift-distributed-tracing"),
      ],
      swiftSettings: swiftSettings
    ),
    // The REST/JSON gateway with Server-Sent Events; maps HTTP onto the gRPC service.
    .target(
      name: "Gateway",
      dependencies: [
        "Core",
        "GRPCServer",
        "KeyquarryProtos",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "HummingbirdTLS", package: "hummingbird"),
        .product(name: "HummingbirdCore", package: "hummingbird"),
        .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
        .product(name: "HTTPTypes", package: "swift-http-types"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "Tracing", package: "swift-distributed-tracing"),
      ],
      swiftSettings: swiftSettings
    ),
    // The monitor server (/metrics, /debug/vars, health) and the telemetry backends.
    .target(
      name: "Monitoring",
      dependencies: [
        "Core",
        "GRPCServer",
        "Gateway",
        "KeyquarryProtos",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "Prometheus", package: "swift-prometheus"),
        .product(name: "Tracing", package: "swift-distributed-tracing"),
        .product(name: "Instrumentation", package: "swift-distributed-tracing"),
        .product(name: "OTel", package: "swift-otel"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ],
      swiftSettings: swiftSettings
    ),
    // Snapshots of the store in SQLite (and, later, PostgreSQL); restore on start.
    .target(
      name: "Persistence",
      dependencies: [
        "Core",
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Metrics", package: "swift-metrics"),
      ],
      swiftSettings: swiftSettings
    ),
    // Server configuration: defaults, YAML file, KEYQUARRY_* environment, flags.
    .target(
      name: "Config",
      dependencies: [
        "Core",
        .product(name: "Configuration", package: "swift-configuration"),
        .product(name: "Yams", package: "Yams"),
        .product(name: "SystemPackage", package: "swift-system"),
      ],
      swiftSettings: swiftSettings
    ),
    .executableTarget(
      name: "CLI",
      dependencies: [
        "Core",
        "Config",
        "GRPCServer",
        "Gateway",
        "Monitoring",
        "Persistence",
        "KeyquarryProtos",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: swiftSettings
    ),
    // Throughput and memory of the store (scripts/bench core); not a test.
    .executableTarget(name: "CoreBench", dependencies: ["Core"], path: "Benchmarks/CoreBench"),
    // Watch fan-out to many watchers, for etcd and keyquarry alike (scripts/bench/run); not a test.
    .executableTarget(
      name: "FanoutBench",
      dependencies: [
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP2", package: "swift-nio-http2"),
        .product(name: "NIOHPACK", package: "swift-nio-http2"),
      ],
      path: "Benchmarks/FanoutBench"),
    // Snapshot and restore times, memory and writer stalls (scripts/bench snapshot); not a test.
    .executableTarget(
      name: "SnapshotBench",
      dependencies: ["Core", "Persistence", .product(name: "Logging", package: "swift-log")],
      path: "Benchmarks/SnapshotBench"),
    .executableTarget(
      name: "JournalBench", dependencies: [.product(name: "GRDB", package: "GRDB.swift")],
      path: "Benchmarks/JournalBench"),
    .testTarget(name: "CoreTests", dependencies: ["Core"], swiftSettings: swiftSettings),
    .testTarget(
      name: "GRPCServerTests",
      dependencies: [
        "GRPCServer", "KeyquarryProtos", "Core",
        .product(name: "NIOEmbedded", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP2", package: "swift-nio-http2"),
        .product(name: "NIOHPACK", package: "swift-nio-http2"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "KeyquarryProtosTests",
      dependencies: [
        "KeyquarryProtos",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "GatewayTests",
      dependencies: [
        "Gateway", "GRPCServer", "KeyquarryProtos", "Core",
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOEmbedded", package: "swift-nio"),
        .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
        .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
        .product(name: "HTTPTypes", package: "swift-http-types"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOCore", package: "swift-nio"),
      ],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "PersistenceTests",
      dependencies: ["Persistence", "Core", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
      swiftSettings: swiftSettings),
    .testTarget(name: "ConfigTests", dependencies: ["Config", "Core"], swiftSettings: swiftSettings),
    .testTarget(
      name: "EndToEndTests",
      dependencies: [
        "KeyquarryProtos",
        "Core",
        "Persistence",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
      ],
      swiftSettings: swiftSettings
    ),
  ]
)
