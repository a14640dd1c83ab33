import Foundation
import Logging

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Server log lines on stdout, in the original's shape: logfmt
/// (`time=… level=INFO msg="starting server" key=value`) or one JSON object per line.
struct KeyquarryLogHandler: LogHandler {
  /// Loggers with this label print `level=EVENT` (the event log of `log_events`).
  static let eventLabel = "keyquarry.events"

  let label: String
  let json: Bool
  var logLevel: Logger.Level
  var metadata: Logger.Metadata = [:]
  var metadataProvider: Logger.MetadataProvider?

  subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  func log(event: LogEvent) {
    var fields: [(String, String)] = [
      ("time", Self.timestamp()),
      ("level", label == Self.eventLabel ? "EVENT" : Self.name(event.level)),
      ("msg", event.message.description),
    ]
    let merged = metadata.merging(metadataProvider?.get() ?? [:]) { $1 }
      .merging(event.metadata ?? [:]) { $1 }
    for key in merged.keys.sorted() { fields.append((key, "\(merged[key]!)")) }
    let line = json ? Self.jsonLine(fields) : Self.logfmtLine(fields)
    // One write per line, so lines from different threads never interleave.
    var bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeMutableBytes { Glibc.write(STDOUT_FILENO, $0.baseAddress, $0.count) }
  }

  static func name(_ level: Logger.Level) -> String {
    switch level {
    case .trace: "TRACE"
    case .debug: "DEBUG"
    case .info: "INFO"
    case .notice: "NOTICE"
    case .warning: "WARN"
    case .error: "ERROR"
    case .critical: "CRITICAL"
    }
  }

  private static func timestamp() -> String {
    Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
  }

  private static func logfmtLine(_ fields: [(String, String)]) -> String {
    fields.map { key, value in
      let plain = !value.isEmpty && !value.contains { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }
      return "\(key)=" + (plain ? value : quoted(value))
    }.joined(separator: " ")
  }

  private static func jsonLine(_ fields: [(String, String)]) -> String {
    "{" + fields.map { "\(quoted($0)):\(quoted($1))" }.joined(separator: ",") + "}"
  }

  /// A JSON string literal (also valid logfmt quoting).
  private static func quoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out + "\""
  }
}
