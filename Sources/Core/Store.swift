import Foundation
import Synchronization

/// The in-memory key-value store. Thread-safe; operations are synchronous and hold only
/// the lock of the key's shard. Background work (expiry, pruning) runs in `run()`.
public final class Store: Sendable {
  public let options: StoreOptions
  let clock: any StoreClock
  let shards: [Shard]
  let nextExpiry = NextExpiry()
  let counters = StoreCounters()
  let bus: EventBus
  let memory: MemoryLimit
  let readOnly: Atomic<Bool>
  let clients = Mutex<[String: Date]>([:])
  let journal: (any StoreJournal)?
  /// At most one pending eager-prune request, naming the key that triggered it.
  let eagerPruneSignal: (stream: AsyncStream<String>, continuation: AsyncStream<String>.Continuation)

  public init(
    options: StoreOptions = StoreOptions(), clock: any StoreClock = SystemClock(), journal: (any StoreJournal)? = nil
  ) {
    self.options = options
    self.clock = clock
    self.journal = journal
    shards = (0..<256).map { [nextExpiry] _ in Shard(nextExpiry: nextExpiry) }
    bus = EventBus(options: options)
    memory = MemoryLimit(
      limit: options.maxMemory, policy: MemoryLimit.Policy(rawValue: options.maxMemoryPolicy) ?? .refuse)
    readOnly = Atomic(options.readOnly)
    eagerPruneSignal = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingOldest(1))
    createReservedKeys()
  }

  func shard(for key: String) -> Shard {
    shards[Int(UInt(bitPattern: key.hashValue) % UInt(shards.count))]
  }

  /// Runs `body` with the key's shard locked.
  func withShard<R, E: Error>(
    of key: String, _ body: (inout ShardState) throws(E) -> R
  ) throws(E) -> R {
    try shard(for: key).state.withLock { (state: inout ShardState) throws(E) -> R in
      try body(&state)
    }
  }

  /// What an event carries as the key's value, read only if a watcher takes the event.
  enum EventValue {
    case none
    /// The key's live value.
    case current
    /// The value of a record just taken out of the table.
    case removed(KeyRecord?)
  }

  /// Records and publishes an event; called with the key's shard lock held.
  func emit(
    _ kind: KeyEvent, _ key: String, by client: String, at time: Date,
    value: EventValue = .none, in state: inout ShardState
  ) {
    if kind == .created || kind == .updated || kind == .locked || kind == .accessed {
      state.record(kind, key, at: time)
    }
    let reserved = ClientID.isReserved(key: key)
    let sequence = bus.publish(kind, key: key, client: client, time: time, reserved: reserved) {
      switch value {
      case .none: nil
      case .current: state.snapshot(key)
      case .removed(let record): record?.snapshot
      }
    }
    if let journal, !reserved { journalChange(kind, key, sequence, state, to: journal) }
  }

  /// Writes the key's state after an event that changed it.
  private func journalChange(
    _ kind: KeyEvent, _ key: String, _ sequence: UInt64, _ state: ShardState, to journal: any StoreJournal
  ) {
    switch kind {
    case .deleted, .expired, .expunged:
      let keepHistory = (state.record(key)?.historyCount ?? 0) > 0
      journal.record(.remove(key: key, keepHistory: keepHistory, sequence: sequence))
    case .created, .updated, .locked, .unlocked, .lifespanSet, .lifespanRenewed:
      // An UNLOCKED of a key whose lifespan just ended has no entry: its EXPIRED follows.
      guard let record = state.record(key), let entry = record.entry else { return }
      let valueChanged = kind == .created || kind == .updated
      journal.record(
        .put(SnapshotKey(key, entry, value: valueChanged ? record.value : Data()), valueChanged: valueChanged, sequence: sequence))
    case .accessed, .noEvent:
      break
    }
  }

  // MARK: - Mode and identity

  public var isReadOnly: Bool { readOnly.load(ordering: .relaxed) }

  func requireWritable() throws(StoreError) {
    if isReadOnly { throw .readOnly }
    try requireJournal()
  }

  /// With `durability: always`, a change the journal cannot write is refused before it applies.
  func requireJournal() throws(StoreError) {
    if let journal, journal.refusesWrites { throw .journalUnavailable }
  }

  /// Bytes held at the last sample, and `max_memory` (0: none).
  public var memoryUse: (used: Int, limit: Int) { (memory.usedBytes, memory.limit) }

  /// What the store holds now, as `max_memory` counts it.
  func memoryHeld() -> Int {
    var records = 0
    for shard in shards { records += shard.state.withLock { $0.table.bytes } }
    // A client id: its characters, its date and its dictionary slot.
    let clientIDs = clients.withLock { $0.count } * 96
    return records + clientIDs + bus.budget.totalBytes
  }

  /// Writes that add data stop past `max_memory` (policy `refuse`).
  func requireMemory() throws(StoreError) {
    if memory.refusesWrites { throw .maxMemory(memory.limit) }
  }

  /// Records a client id; a second registration of the same id fails with AlreadyExists,
  /// one past `max_client_ids` with ResourceExhausted.
  public func register(_ client: String) throws(StoreError) {
    try requireMemory()
    try requireJournal()
    let now = clock.now()
    let limit = options.maxClientIDs
    let refusal: StoreError? = clients.withLock { clients in
      guard clients[client] == nil else { return .alreadyRegistered }
      guard limit == 0 || clients.count < limit else { return .maxClientIDs(limit) }
      clients[client] = now
      journal?.record(.register(client: client, at: now))
      return nil
    }
    if let refusal { throw refusal }
  }

  public func setReadOnly(_ enable: Bool, by client: String) throws(StoreError) {
    if options.privilegedClientID.isEmpty { throw .noPrivilegedClient }
    if client != options.privilegedClientID { throw .notAuthorized }
    try requireJournal()
    guard let journal else { return readOnly.store(enable, ordering: .relaxed) }
    // Under the clients' lock, so that the journal has the calls in the order they took effect.
    clients.withLock { _ in
      readOnly.store(enable, ordering: .relaxed)
      journal.record(.readOnly(enable))
    }
  }

  /// Admin RPCs are for the privileged client only.
  public func requireAdmin(_ client: String) throws(StoreError) {
    if options.privilegedClientID.isEmpty || client != options.privilegedClientID {
      throw .notAdmin
    }
  }

  // MARK: - Stats

  public func stats() -> StoreStats {
    var historyKeys = 0
    var historyRevisions = 0
    for shard in shards {
      shard.state.withLock { state in
        historyKeys += state.table.historyKeys
        historyRevisions += state.table.historyRevisions
      }
    }
    var events: [KeyEvent: UInt64] = [:]
    for kind in KeyEvent.allCases where kind != .noEvent {
      events[kind] = bus.counters.count(of: kind)
    }
    return StoreStats(
      keys: counters.keys.value, totalSize: counters.totalSize.value,
      currentLocks: counters.locks.value, clientIDs: clients.withLock { $0.count },
      lifespans: counters.lifespans.value, eventSubscribers: bus.activeSubscribers,
      snapshotsCreated: counters.snapshotsCreated.value, snapshotsFailed: counters.snapshotsFailed.value,
      eagerPruneTriggered: counters.eagerPruneTriggered.value,
      pruneCompleted: counters.pruneCompleted.value, events: events,
      maxKeys: options.maxKeys, historyKeys: historyKeys, historyRevisions: historyRevisions,
      watchBufferBytes: bus.budget.totalBytes, slowWatchersEnded: bus.budget.slowWatchersEnded,
      memoryUsed: memoryHeld(), maxMemory: memory.limit, journal: journalFigures)
  }

  /// The sequence number of the newest event.
  public var lastEventSequence: UInt64 { bus.sequence }

  // MARK: - Reserved keys

  private func createReservedKeys() {
    let now = clock.now()
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    let values: [(String, String)] = [
      ("Started", formatter.string(from: now)),
      ("MaxLockDuration", "\(options.maxLockDuration.nanoseconds)"),
      ("MinLockDuration", "\(options.minLockDuration.nanoseconds)"),
      ("MinLifespan", "\(options.minLifespan.nanoseconds)"),
      ("MaxKeys", "\(options.maxKeys)"),
      ("PruneInterval", "\(options.pruneInterval.nanoseconds)"),
      ("PruneAt", "\(options.pruneAt)"),
      ("PruneTo", "\(options.pruneTo)"),
      ("EagerPruneAt", "\(options.eagerPruneAt)"),
      ("EagerPruneTo", "\(options.eagerPruneTo)"),
      ("MaxValueSize", "\(options.maxValueSize)"),
      ("MaxKeyLength", "\(options.maxKeyLength)"),
      ("RevisionLimit", "\(options.revisionLimit)"),
      ("snapshot/Enabled", "\(options.snapshotEnabled)"),
      ("snapshot/Interval", "\(options.snapshotInterval.nanoseconds)"),
      ("EventStreamSubscriberLimit", "\(options.eventStreamSubscriberLimit)"),
    ]
    for (name, text) in values {
      let key = "keyquarry/\(name)"
      let value = Data(text.utf8)
      withShard(of: key) { state in
        let entry = Entry(
          contentType: "text/plain; charset=utf-8", hash: FNV1a.hash(value), version: 1,
          created: now, updated: nil, createdBy: ClientID.internalID, lock: nil, lifespan: nil,
          isReserved: true)
        state.insert(key, entry, value: value, revisionLimit: 0)
        emit(.created, key, by: ClientID.internalID, at: now, value: .current, in: &state)
      }
    }
  }
}
