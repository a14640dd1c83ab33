import Foundation

/// The `Date` header value (RFC 9110 IMF-fixdate), formatted once per second.
struct HTTPDate {
  private var second = 0
  private var text = ""

  private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
  private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

  mutating func now() -> String {
    var clock = time(nil)
    if clock != second || text.isEmpty {
      second = clock
      var parts = tm()
      gmtime_r(&clock, &parts)
      func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
      text =
        "\(Self.days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(Self.months[Int(parts.tm_mon)]) "
        + "\(parts.tm_year + 1900) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
    return text
  }
}
