import Foundation
import Synchronization

/// Where the store reads the time; tests inject a manual clock so expiry takes no real time.
public protocol StoreClock: Sendable {
  func now() -> Date
}

public struct SystemClock: StoreClock {
  public init() {}
  public func now() -> Date { Date() }
}

/// A clock that moves only when told to; for tests and benchmarks.
public final class ManualClock: StoreClock {
  private let current: Mutex<Date>

  public init(_ start: Date = Date(timeIntervalSince1970: 1_700_000_000)) {
    current = Mutex(start)
  }

  public func now() -> Date { current.withLock { $0 } }

  public func advance(by duration: Duration) {
    current.withLock { $0 = $0 + duration }
  }
}

extension Duration {
  public var timeInterval: TimeInterval {
    let parts = components
    return TimeInterval(parts.seconds) + TimeInterval(parts.attoseconds) / 1e18
  }

  /// The longest duration in whole Int64 nanoseconds (292 years), Go's longest.
  public static let longest = Duration.nanoseconds(Int64.max)

  /// Whole nanoseconds, as the original's reserved keys print durations; saturated at
  /// `Int64.max` / `.min`, as Go saturates a protobuf duration.
  public var nanoseconds: Int64 {
    let parts = components
    let (whole, overflow) = parts.seconds.multipliedReportingOverflow(by: 1_000_000_000)
    if overflow { return parts.seconds < 0 ? .min : .max }
    let (sum, carry) = whole.addingReportingOverflow(parts.attoseconds / 1_000_000_000)
    return carry ? (whole < 0 ? .min : .max) : sum
  }
}

extension Date {
  public static func + (date: Date, duration: Duration) -> Date {
    date.addingTimeInterval(duration.timeInterval)
  }
}
