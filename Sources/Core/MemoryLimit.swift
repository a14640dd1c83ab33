import Synchronization

/// `max_memory`: what the store holds as it counts it (records with their keys, values,
/// history and metrics; registered client ids; what waits for watchers), sampled against
/// the limit by `Store.run()` so that a write checks one flag. A burst can pass the limit
/// by what arrives between two samples. (Asking glibc instead, `mallinfo2`, walks every
/// free chunk with its arena locked: 0.4 s for a heap with a million of them.)
final class MemoryLimit: Sendable {
  /// What `max_memory_policy` does past the limit.
  enum Policy: String, Sendable {
    /// Writes that add data are refused (Redis's `noeviction`).
    case refuse
    /// The stalest keys are pruned until the store is back under 90% of the limit.
    case prune
  }

  let limit: Int
  let policy: Policy
  private let used = Atomic<Int>(0)
  private let over = Atomic<Bool>(false)

  static let sampleInterval: Duration = .milliseconds(100)

  init(limit: Int, policy: Policy) {
    self.limit = limit
    self.policy = policy
  }

  /// Bytes held at the last sample.
  var usedBytes: Int { used.load(ordering: .relaxed) }

  /// Past the limit at the last sample, with writes to be refused.
  var refusesWrites: Bool { policy == .refuse && over.load(ordering: .relaxed) }

  /// Records `bytes`, held now; true when they are past the limit.
  @discardableResult
  func sample(_ bytes: Int) -> Bool {
    used.store(bytes, ordering: .relaxed)
    let isOver = limit > 0 && bytes > limit
    over.store(isOver, ordering: .relaxed)
    return isOver
  }
}
