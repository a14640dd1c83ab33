/// Limits and policies of a store. Defaults are the original's.
public struct StoreOptions: Sendable, Equatable {
  /// 0 disables history, -1 keeps every revision, N keeps the newest N.
  public var revisionLimit = 5
  public var keepDeletedKeyHistory = false
  public var maxKeyLength = 1024
  public var maxValueSize = 1_000_000
  /// 0 means no limit.
  public var maxKeys = 0
  /// Client ids Register records at most (each costs its id and a date); 0 means no limit.
  public var maxClientIDs = 100_000
  public var minLockDuration: Duration = .seconds(5)
  public var maxLockDuration: Duration = .seconds(15 * 60)
  public var minLifespan: Duration = .seconds(5)
  /// `.zero` disables scheduled pruning.
  public var pruneInterval: Duration = .zero
  public var pruneAt = 0
  public var pruneTo = 0
  public var eagerPruneAt = 0
  public var eagerPruneTo = 0
  public var eventStreamBufferSize = 10_000
  public var eventStreamSendTimeout: Duration = .seconds(1)
  /// 0 means no limit.
  public var eventStreamSubscriberLimit = 0
  /// Bytes one watcher may have waiting before it is ended (`WatchBuffer`); 0: no limit.
  public var watchBufferLimit = 32 << 20
  /// Bytes one watcher may have waiting for at most `watchBufferSoftTime`; 0: no limit.
  public var watchBufferSoftLimit = 8 << 20
  public var watchBufferSoftTime: Duration = .seconds(60)
  /// Bytes all watchers together may have waiting; 0: no limit.
  public var watchBufferTotal = 32 << 20
  /// Bytes the store may hold, as `MemoryLimit` counts them, before writes are refused
  /// or keys pruned; 0: no limit. The server's default is half the machine's memory.
  public var maxMemory = 0
  /// `refuse` or `prune`.
  public var maxMemoryPolicy = "refuse"
  /// The one client allowed SetReadOnly and the Admin RPCs; empty: nobody.
  public var privilegedClientID = ""
  public var readOnly = false
  /// Shown in the reserved keys `keyquarry/snapshot/*`.
  public var snapshotEnabled = false
  public var snapshotInterval: Duration = .zero

  public init() {}

  /// Rejects combinations the store cannot honour; the message names the option.
  public func validate() throws(StoreError) {
    func fail(_ message: String) -> StoreError { StoreError(.invalidArgument, message) }
    if revisionLimit < -1 { throw fail("revision_limit must be -1, 0 or positive") }
    if maxKeyLength <= 0 { throw fail("max_key_length must be positive") }
    if maxValueSize <= 0 { throw fail("max_value_size must be positive") }
    // A record counts its key's and value's bytes in 32 bits.
    if maxValueSize > UInt32.max { throw fail("max_value_size must be at most 4294967295") }
    if maxKeyLength > UInt32.max { throw fail("max_key_length must be at most 4294967295") }
    if minLockDuration <= .zero { throw fail("min_lock_duration must be positive") }
    if maxLockDuration < minLockDuration {
      throw fail("max_lock_duration must not be less than min_lock_duration")
    }
    if minLifespan <= .zero { throw fail("min_lifespan must be positive") }
    if eventStreamBufferSize <= 0 { throw fail("event_stream_buffer_size must be positive") }
    if MemoryLimit.Policy(rawValue: maxMemoryPolicy) == nil {
      throw fail("max_memory_policy must be one of refuse, prune")
    }
    if watchBufferSoftLimit > 0, watchBufferLimit > 0, watchBufferSoftLimit > watchBufferLimit {
      throw fail("watch_buffer_soft_limit must not be more than watch_buffer_limit")
    }
    if pruneInterval > .zero, pruneTo > 0, pruneTo > pruneAt {
      throw fail("prune_to must be less than prune_at")
    }
    if eagerPruneAt > 0, eagerPruneAt <= eagerPruneTo {
      throw fail("eager_prune_to must be less than eager_prune_at")
    }
  }

  /// Target of a scheduled prune: `prune_to`, or 90% of `prune_at` when unset (decision 12.27).
  var scheduledPruneTarget: Int { pruneTo > 0 ? pruneTo : pruneAt * 9 / 10 }
}
