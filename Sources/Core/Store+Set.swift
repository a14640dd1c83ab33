import Foundation

extension Store {
  /// Creates or updates a key, as the original. Returns true when the key is new.
  @discardableResult
  public func set(
    _ key: String, value: Data, contentType: String = "", lockDuration: Duration? = nil,
    lifespan: Duration? = nil, by client: String
  ) throws(StoreError) -> Bool {
    if key.isEmpty { throw .emptyKey }
    if ClientID.isReserved(key: key) { throw .reservedKey }
    try requireWritable()
    if key.utf8.count > options.maxKeyLength { throw .keyTooLong }
    if value.count > options.maxValueSize { throw .valueTooLarge }
    if let lockDuration { try validateLock(lockDuration) }
    if let lifespan, lifespan <= .zero || lifespan < options.minLifespan { throw .lifespanInvalid }
    // No maximum, but like the original's Go durations at most Int64.max nanoseconds (292 years).
    let lifespan = lifespan.map { min($0, Duration.longest) }
    try requireMemory()

    let now = clock.now()
    return try withShard(of: key) { (state: inout ShardState) throws(StoreError) -> Bool in
      if state.entry(key) != nil {
        try update(key, value, contentType, lockDuration, lifespan, client, now, &state)
        return false
      }
      try reserveKeySlot(for: key)
      create(key, value, contentType, client, now, lockedFor: lockDuration, &state)
      if let lifespan { applyLifespan(key, lifespan, client, now, &state) }
      return true
    }
  }

  private func update(
    _ key: String, _ value: Data, _ contentType: String, _ lockDuration: Duration?,
    _ lifespan: Duration?, _ client: String, _ now: Date, _ state: inout ShardState
  ) throws(StoreError) {
    guard let entry = state.entry(key), !entry.isLocked(against: client) else { throw .locked }
    if let lifespan {
      applyLifespan(key, lifespan, client, now, &state)
    } else if let existing = entry.lifespan {
      state.modifyEntry(key) { $0.lifespan!.setAt = now }
      state.schedule(Timer(deadline: now + existing.duration, key: key, kind: .lifespan))
      emit(.lifespanRenewed, key, by: client, at: now, in: &state)
    }
    if let lockDuration { applyLock(key, lockDuration, client, now, &state) }

    let hash = FNV1a.hash(value)
    guard hash != entry.hash else { return }
    let type = state.contentType(contentType, of: value)
    let outgoing = state.changeValue(key, to: value, revisionLimit: options.revisionLimit) { entry in
      entry.hash = hash
      entry.contentType = type
      entry.version += 1
      entry.updated = now
    }
    counters.totalSize.add(value.count - outgoing)
    emit(.updated, key, by: client, at: now, value: .current, in: &state)
  }

  /// Inserts a new key (the caller has reserved its slot) and emits CREATED, then LOCKED
  /// when it is created locked. The lock is in the entry before CREATED is published, so
  /// that the event's value is the lock owner's alone.
  func create(
    _ key: String, _ value: Data, _ contentType: String, _ client: String, _ now: Date,
    lockedFor lockDuration: Duration? = nil, _ state: inout ShardState
  ) {
    var version: UInt64 = 1
    if options.revisionLimit != 0, let last = state.record(key)?.latestVersion { version = last + 1 }
    let lock = lockDuration.map { LockState(owner: client, created: now, expires: now + $0) }
    let entry = Entry(
      contentType: state.contentType(contentType, of: value),
      hash: FNV1a.hash(value), version: version, created: now, updated: nil, createdBy: state.creators.share(client),
      lock: lock, lifespan: nil, isReserved: false)
    state.insert(key, entry, value: value, revisionLimit: options.revisionLimit)
    counters.totalSize.add(value.count)
    emit(.created, key, by: client, at: now, value: .current, in: &state)
    if let lock { lockTaken(key, until: lock.expires, isNew: true, client, now, &state) }
  }

  /// Counts a new key against `max_keys`, and asks for an eager prune past `eager_prune_at`.
  func reserveKeySlot(for key: String) throws(StoreError) {
    let before: Int
    if options.maxKeys > 0 {
      guard let count = counters.keys.increment(below: options.maxKeys) else {
        requestEagerPrune(sparing: key)  // decision 12.28
        throw .maxKeys
      }
      before = count
    } else {
      before = counters.keys.add(1) - 1
    }
    if options.eagerPruneAt > 0, before >= options.eagerPruneAt { requestEagerPrune(sparing: key) }
  }

  func applyLifespan(
    _ key: String, _ duration: Duration, _ client: String, _ now: Date, _ state: inout ShardState
  ) {
    state.modifyEntry(key) { entry in
      if entry.lifespan == nil { counters.lifespans.add(1) }
      entry.lifespan = Lifespan(duration: duration, setAt: now)
    }
    state.schedule(Timer(deadline: now + duration, key: key, kind: .lifespan))
    emit(.lifespanSet, key, by: client, at: now, in: &state)
  }
}
