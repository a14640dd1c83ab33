import Foundation

/// Parses Go-style durations: `300ms`, `5s`, `1m30s`, `1.5h`, `0`; units ns, us (µs), ms, s, m, h.
public enum DurationParser {
  public static func parse(_ text: String) -> Duration? {
    let trimmed = text.trimmingWhitespace
    if trimmed == "0" { return .zero }
    var rest = Substring(trimmed)
    var negative = false
    if rest.first == "-" || rest.first == "+" {
      negative = rest.first == "-"
      rest = rest.dropFirst()
    }
    guard !rest.isEmpty else { return nil }
    var total = Duration.zero
    while !rest.isEmpty {
      let number = rest.prefix { $0.isNumber || $0 == "." }
      guard !number.isEmpty, let value = Double(number) else { return nil }
      rest = rest.dropFirst(number.count)
      let unit = rest.prefix { !$0.isNumber && $0 != "." }
      rest = rest.dropFirst(unit.count)
      let nanosPerUnit: Double
      switch unit {
      case "ns": nanosPerUnit = 1
      case "us", "µs", "μs": nanosPerUnit = 1e3
      case "ms": nanosPerUnit = 1e6
      case "s": nanosPerUnit = 1e9
      case "m": nanosPerUnit = 60e9
      case "h": nanosPerUnit = 3600e9
      default: return nil
      }
      let nanos = value * nanosPerUnit
      guard nanos < 9.2e18 else { return nil }
      total += .nanoseconds(Int64(nanos.rounded()))
    }
    return negative ? .zero - total : total
  }

  /// Formats like Go (`1m30s`, `500ms`, `0s`), for logs and reserved keys.
  public static func format(_ duration: Duration) -> String {
    let nanos = duration.nanoseconds
    if nanos == 0 { return "0s" }
    if nanos < 0 { return "-" + format(.zero - duration) }
    if nanos < 1_000 { return "\(nanos)ns" }
    if nanos < 1_000_000 { return trim(Double(nanos) / 1e3) + "µs" }
    if nanos < 1_000_000_000 { return trim(Double(nanos) / 1e6) + "ms" }
    var seconds = nanos / 1_000_000_000
    let fraction = nanos % 1_000_000_000
    var text = ""
    if seconds >= 3600 {
      text += "\(seconds / 3600)h"
      seconds %= 3600
      text += "\(seconds / 60)m"
    } else if seconds >= 60 {
      text += "\(seconds / 60)m"
    }
    seconds %= 60
    let secondsText = fraction == 0 ? "\(seconds)" : trim(Double(seconds) + Double(fraction) / 1e9)
    return text + secondsText + "s"
  }

  private static func trim(_ value: Double) -> String {
    var text = String(format: "%.9f", value)
    while text.hasSuffix("0") { text.removeLast() }
    if text.hasSuffix(".") { text.removeLast() }
    return text
  }
}

extension String {
  var trimmingWhitespace: String {
    String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
  }
}
