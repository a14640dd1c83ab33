import Core
import Foundation
import GRPCServer
import KeyquarryProtos
import SwiftProtobuf

/// `/debug/vars`, shaped like Go's expvar: `cmdline`, `memstats` (this process's figures),
/// `build`, and `keyquarry`: the Stats RPC's ServerMetrics in snake_case JSON, numbers
/// as numbers.
enum ExpvarDocument {
  static func render(store: Store, version: String) throws -> Data {
    var options = JSONEncodingOptions()
    options.preserveProtoFieldNames = true
    options.alwaysPrintInt64sAsNumbers = true
    let metrics = try Keyquarry_ServerMetrics(store.stats()).jsonUTF8Data(options: options)
    let figures = ProcessFigures.current()
    let document: [String: Any] = [
      "cmdline": CommandLine.arguments,
      "memstats": [
        "resident_bytes": Int(figures.residentBytes),
        "virtual_bytes": Int(figures.virtualBytes),
        "open_fds": Int(figures.openFiles),
        "threads": Int(figures.threads),
        "cpu_seconds": figures.cpuSeconds,
      ],
      "build": ["version": version, "start_time": ISO8601DateFormatter().string(from: ProcessFigures.startTime)],
      "keyquarry": try JSONSerialization.jsonObject(with: metrics),
    ]
    return try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
  }
}
