import Foundation

extension Store {
  /// Locks a key for `duration`, or extends the caller's own lock by it.
  public func lock(
    _ key: String, duration: Duration?, createIfMissing: Bool = false, by client: String
  ) throws(StoreError) {
    if key.isEmpty { throw .emptyKey }
    if ClientID.isReserved(key: key) { throw .reservedKey }
    try requireWritable()
    if createIfMissing, key.utf8.count > options.maxKeyLength { throw .keyTooLong }
    guard let duration else { throw .lockInvalid }
    try validateLock(duration)

    let now = clock.now()
    try withShard(of: key) { (state: inout ShardState) throws(StoreError) in
      if let entry = state.entry(key) {
        if entry.isLocked(against: client) { throw .locked }
      } else {
        guard createIfMissing else { throw .notFound }
        try reserveKeySlot(for: key)
        create(key, Data(), "", client, now, lockedFor: duration, &state)
        return
      }
      applyLock(key, duration, client, now, &state)
    }
  }

  public func unlock(_ key: String, by client: String) throws(StoreError) {
    if ClientID.isReserved(key: key) { throw .reservedKey }
    try requireWritable()
    let now = clock.now()
    try withShard(of: key) { (state: inout ShardState) throws(StoreError) in
      guard let entry = state.entry(key) else { throw .notFound }
      guard let lock = entry.lock else { return }
      if lock.owner != client { throw .locked }
      state.modifyEntry(key) { $0.lock = nil }
      counters.locks.add(-1)
      emit(.unlocked, key, by: client, at: now, value: .current, in: &state)
    }
  }

  func validateLock(_ duration: Duration) throws(StoreError) {
    if duration > options.maxLockDuration { throw .lockTooLong }
    if duration <= .zero || duration < options.minLockDuration { throw .lockInvalid }
  }

  /// Creates a lock, or extends the caller's lock by `duration` with at most
  /// `max_lock_duration` left (decision 12.11). The caller checked ownership.
  func applyLock(
    _ key: String, _ duration: Duration, _ client: String, _ now: Date, _ state: inout ShardState
  ) {
    let (expires, isNew) = state.modifyEntry(key) { entry in
      if let existing = entry.lock {
        entry.lock!.expires = min(existing.expires + duration, now + options.maxLockDuration)
        return (entry.lock!.expires, false)
      }
      entry.lock = LockState(owner: client, created: now, expires: now + duration)
      return (entry.lock!.expires, true)
    }
    lockTaken(key, until: expires, isNew: isNew, client, now, &state)
  }

  /// What follows a lock put in the entry: its count, its timer and LOCKED.
  func lockTaken(
    _ key: String, until expires: Date, isNew: Bool, _ client: String, _ now: Date, _ state: inout ShardState
  ) {
    if isNew { counters.locks.add(1) }
    state.schedule(Timer(deadline: expires, key: key, kind: .lock))
    emit(.locked, key, by: client, at: now, in: &state)
  }
}
