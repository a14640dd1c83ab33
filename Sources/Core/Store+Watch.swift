import Foundation

extension Store {
  /// Subscribes to events matching `filter` (WatchStream). Fails when the subscriber
  /// limit is reached.
  public func watch(_ filter: EventFilter) throws(StoreError) -> Subscription {
    try bus.subscribe(filter)
  }

  /// WatchStream pushed into `sink`, whose `buffer` (from `makeWatchBuffer()`) holds it to
  /// the same limits as a `watch` stream.
  public func watch(_ filter: EventFilter, into sink: some EventSink) throws(StoreError) -> PushSubscription {
    try bus.subscribe(filter, sink: sink)
  }

  /// The buffer accounting of a pushed watch's sink, which holds encoded events only.
  public func makeWatchBuffer() -> WatchBuffer { bus.budget.makeBuffer(countsValues: false) }

  /// Every event, for the server's own consumers (the event log): not counted as a
  /// watcher, not limited by `event_stream_subscriber_limit`.
  public func observe() throws(StoreError) -> Subscription {
    try bus.subscribe(EventFilter(), counted: false)
  }

  /// Watches the value of one key (WatchKeyValue; README, Behaviour decisions).
  public func watchValue(_ key: String, by client: String) throws(StoreError) -> ValueWatch {
    let filter = EventFilter(keys: [key], kinds: ValueWatch.kinds)
    let now = clock.now()
    // Subscribing under the shard lock: no change slips between the initial value and the stream.
    return try withShard(of: key) { (state: inout ShardState) throws(StoreError) -> ValueWatch in
      let subscription = try bus.subscribe(filter)
      var initial: ValueUpdate?
      if let entry = state.entry(key), !entry.isLocked(against: client) {
        initial = ValueUpdate(
          sequence: bus.sequence, key: key, snapshot: state.snapshot(key)!, kind: .noEvent,
          clientID: ClientID.internalID, time: nil)
        emit(.accessed, key, by: client, at: now, in: &state)
      }
      return ValueWatch(store: self, key: key, client: client, initial: initial, subscription: subscription)
    }
  }

  /// Counts a value pushed to a watcher as an access.
  func recordWatchAccess(_ key: String, by client: String) {
    let now = clock.now()
    withShard(of: key) { state in
      if state.entry(key) != nil { emit(.accessed, key, by: client, at: now, in: &state) }
    }
  }
}

/// One message of a value watch.
public struct ValueUpdate: Sendable {
  /// The event's sequence number; for the initial message, the newest one at that moment.
  public let sequence: UInt64
  public let key: String
  /// The value and metadata; for removals, what the key held when it went away.
  public let snapshot: ValueSnapshot
  public let kind: KeyEvent
  public let clientID: String
  /// Nil for the initial message.
  public let time: Date?

  /// The update without the value and what describes it (content type, hash, version).
  var withheld: ValueUpdate {
    ValueUpdate(
      sequence: sequence, key: key, snapshot: .withheld(lockOwner: snapshot.lockOwner), kind: kind,
      clientID: clientID, time: time)
  }
}

/// The messages of a value watch: the current value at once (if readable), then the
/// value after every create, update and unlock, and the last value on removal. A value
/// locked by another client never reaches the watcher, whatever the transport: its
/// CREATED and UPDATED are skipped, and its removal comes with the key and event only.
public struct ValueWatch: AsyncSequence, Sendable {
  static let kinds: Set<KeyEvent> = [.created, .updated, .unlocked, .deleted, .expired, .expunged]

  let store: Store
  let key: String
  let client: String
  let initial: ValueUpdate?
  public let subscription: Subscription

  public struct AsyncIterator: AsyncIteratorProtocol {
    let watch: ValueWatch
    var pendingInitial: ValueUpdate?
    var events: Subscription.Events.AsyncIterator

    public mutating func next() async -> ValueUpdate? {
      if let initial = pendingInitial {
        pendingInitial = nil
        return initial
      }
      while let event = await events.next() {
        guard let snapshot = event.snapshot else { continue }  // e.g. UNLOCKED of an expired key
        let update = ValueUpdate(
          sequence: event.sequence, key: event.key, snapshot: snapshot, kind: event.kind,
          clientID: event.clientID, time: event.time)
        if event.kind.removesKey {
          return snapshot.isReadable(by: watch.client) ? update : update.withheld
        }
        if !snapshot.isReadable(by: watch.client) { continue }
        watch.store.recordWatchAccess(watch.key, by: watch.client)
        return update
      }
      return nil
    }
  }

  public func makeAsyncIterator() -> AsyncIterator {
    AsyncIterator(watch: self, pendingInitial: initial, events: subscription.events.makeAsyncIterator())
  }
}
