import Foundation

/// The memory the server may use: its cgroup's limit (v2 `memory.max`, v1
/// `memory.limit_in_bytes`) when one is set, else the machine's (`MemTotal`).
enum MachineMemory {
  static var bytes: Int? {
    cgroupLimit ?? meminfoTotal
  }

  /// `max_memory`'s default: half of it, leaving room for what the allocator keeps
  /// beyond what it hands out, the binary, stacks and the page cache.
  static var defaultMaxMemory: Int { (bytes ?? 0) / 2 }

  private static var cgroupLimit: Int? {
    for path in ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"] {
      guard let text = try? String(contentsOfFile: path, encoding: .utf8),
        let limit = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
      else { continue }
      // cgroup v1 writes "no limit" as a huge page-aligned number.
      if limit < 1 << 60 { return limit }
    }
    return nil
  }

  private static var meminfoTotal: Int? {
    guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix("MemTotal:") {
      let fields = line.split(separator: " ")
      if fields.count >= 2, let kib = Int(fields[1]) { return kib * 1024 }
    }
    return nil
  }
}
