import Foundation

/// Figures of this process read from /proc (Linux), for /metrics and /debug/vars.
struct ProcessFigures: Sendable {
  var residentBytes: Double = 0
  var virtualBytes: Double = 0
  var openFiles: Double = 0
  var cpuSeconds: Double = 0
  var threads: Double = 0

  /// When the process started: field 22 of /proc/self/stat (clock ticks after boot) plus
  /// the boot time from /proc/stat; the first use's time where /proc is missing.
  static let startTime: Date = {
    guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
      let close = stat.lastIndex(of: ")"),
      let ticks = stat[stat.index(after: close)...].split(separator: " ").dropFirst(19).first.flatMap({ Double($0) }),
      let boot = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
      let line = boot.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
      let bootTime = Double(line.dropFirst("btime ".count))
    else { return Date() }
    return Date(timeIntervalSince1970: bootTime + ticks / Double(sysconf(Int32(_SC_CLK_TCK))))
  }()

  static func current() -> ProcessFigures {
    var figures = ProcessFigures()
    let page = Double(sysconf(Int32(_SC_PAGESIZE)))
    if let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) {
      let fields = statm.split(separator: " ").compactMap { Double($0) }
      if fields.count > 1 {
        figures.virtualBytes = fields[0] * page
        figures.residentBytes = fields[1] * page
      }
    }
    // Fields after the parenthesised command name: utime and stime are 14 and 15, threads 20.
    if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
      let close = stat.lastIndex(of: ")")
    {
      let fields = stat[stat.index(after: close)...].split(separator: " ")
      let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
      if fields.count > 17, let user = Double(fields[11]), let system = Double(fields[12]) {
        figures.cpuSeconds = (user + system) / ticks
        figures.threads = Double(fields[17]) ?? 0
      }
    }
    figures.openFiles = Double((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0)
    return figures
  }
}
