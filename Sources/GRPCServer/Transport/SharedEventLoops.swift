import Foundation
import NIOCore

/// The size of NIO's shared event-loop group, which serves every listener (gRPC, the
/// gateway, the monitor) and the PostgreSQL client.
public enum SharedEventLoops {
  /// Sizes the group: `requested` threads, or with 0 one per CPU this process may run on.
  /// Must run before anything uses the group: NIO fixes its size at first use.
  /// Returns the number of threads.
  public static func configure(requested: Int) -> Int {
    NIOSingletons.groupLoopCountSuggestion = requested > 0 ? requested : availableCPUs
    return NIOSingletons.groupLoopCountSuggestion
  }

  /// NIO's own count (the CPUs online, or fewer under a cgroup quota or cpuset), capped
  /// by the affinity mask, as Go's GOMAXPROCS is: under `taskset -c 0` a second loop
  /// would only take turns with the first on the one core, each turn a context switch.
  static var availableCPUs: Int {
    guard let allowed = affinityCPUs, allowed > 0 else { return System.coreCount }
    return min(allowed, System.coreCount)
  }

  /// The CPUs in the affinity mask, from `Cpus_allowed:` in /proc/self/status (a hex
  /// mask in comma-separated groups; Swift's Glibc does not declare `sched_getaffinity`).
  private static var affinityCPUs: Int? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
      let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") })
    else { return nil }
    var count = 0
    for digit in line.dropFirst("Cpus_allowed:".count) where digit != "," && !digit.isWhitespace {
      guard let nibble = digit.hexDigitValue else { return nil }
      count += nibble.nonzeroBitCount
    }
    return count
  }
}
