import Glibc
import GRPCServer
import Logging

/// How many connections each listener may hold: the file descriptors the process may
/// open, less those kept for everything else (snapshot databases, the journal, logs,
/// PostgreSQL), shared by the listeners. A listener at its limit stops accepting; one
/// out of descriptors would instead spin on a failing accept (SwiftNIO keeps retrying it),
/// so `max_connections` is never let past the share.
struct DescriptorBudget {
  static let reserved = 64
  let perListener: Int
  let descriptors: Int

  /// Raises the soft RLIMIT_NOFILE to the hard one first, as Go's runtime does.
  init(listeners: Int) {
    var limit = rlimit()
    getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    if limit.rlim_cur < limit.rlim_max {
      var raised = limit
      raised.rlim_cur = limit.rlim_max
      if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
    }
    descriptors = Int(clamping: limit.rlim_cur)
    perListener = max(1, (descriptors - Self.reserved) / max(1, listeners))
  }

  /// The listener's limit: `configured` (0: the share), never past the share.
  func limit(_ configured: Int, listener: String, logger: Logger) -> ConnectionLimit {
    if configured > perListener {
      logger.warning(
        "max_connections lowered to what the descriptor limit allows",
        metadata: [
          "listener": "\(listener)", "max_connections": "\(configured)", "lowered_to": "\(perListener)",
          "RLIMIT_NOFILE": "\(descriptors)",
        ])
    }
    let maximum = configured == 0 ? perListener : min(configured, perListener)
    return ConnectionLimit(maximum: maximum, listener: listener, logger: logger)
  }
}
