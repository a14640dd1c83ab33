import Foundation
import Synchronization

/// Numbers events, counts them and fans them out to watchers. Publishing is called with
/// the key's shard lock held, so the events of one key reach every watcher in order.
/// With no watchers it costs two atomic increments: no lock.
final class EventBus: Sendable {
  let counters = EventCounters()
  private let lastSequence = Atomic<UInt64>(0)
  /// The sequence restored from a snapshot: events up to it are from an earlier run.
  private let restored = Atomic<UInt64>(0)
  private let subscriberCount = AtomicCounter()
  /// Lets a publisher skip the subscriber list without taking its lock.
  private let hasSubscribers = Atomic<Bool>(false)
  /// Copy-on-write: a publisher takes the array with one retain, not a copy.
  private let subscribers = Mutex<[any Subscriber]>([])
  private let nextSubscriberID = Atomic<UInt64>(0)
  /// Set by any change to a user key; cleared by the snapshotter.
  let changed = Atomic<Bool>(false)
  private let closed = Atomic<Bool>(false)
  let recent: EventRing
  let budget: WatchBudget
  private let subscriberLimit: Int

  init(options: StoreOptions) {
    budget = WatchBudget(options: options)
    subscriberLimit = options.eventStreamSubscriberLimit
    recent = EventRing(capacity: options.eventStreamBufferSize)
  }

  var activeSubscribers: Int { subscriberCount.value }

  /// Moves the sequence forward (never back) to `sequence`, restored from a snapshot.
  func advanceSequence(to sequence: UInt64) {
    restored.max(sequence, ordering: .relaxed)
    var current = lastSequence.load(ordering: .relaxed)
    while current < sequence {
      let (exchanged, original) = lastSequence.compareExchange(
        expected: current, desired: sequence, ordering: .relaxed)
      if exchanged { return }
      current = original
    }
  }
  var sequence: UInt64 { lastSequence.load(ordering: .relaxed) }
  var restoredSequence: UInt64 { restored.load(ordering: .relaxed) }

  /// `snapshot` is called at most once, when a watcher takes the event.
  /// Returns the event's sequence number.
  @discardableResult
  func publish(
    _ kind: KeyEvent, key: String, client: String, time: Date, reserved: Bool,
    snapshot: () -> ValueSnapshot?
  ) -> UInt64 {
    counters.increment(kind)
    if kind != .accessed, !reserved { changed.store(true, ordering: .relaxed) }
    let sequence = lastSequence.wrappingAdd(1, ordering: .relaxed).newValue
    // Stored before the fan-out: a resuming watcher that subscribed first sees every
    // event either here or live.
    let bare = Event(sequence: sequence, key: key, kind: kind, time: time, clientID: client, snapshot: nil)
    recent.store(bare)
    guard hasSubscribers.load(ordering: .relaxed) else { return sequence }
    var event: Event?
    for subscriber in subscribers.withLock({ $0 }) where subscriber.filter.matches(bare) {
      if event == nil {
        event = Event(
          sequence: sequence, key: key, kind: kind, time: time, clientID: client, snapshot: snapshot())
      }
      subscriber.offer(event!, now: time)
    }
    if event != nil { endSlowestWhileOverTotal() }
    return sequence
  }

  /// Past `watch_buffer_total`, ends the watchers with the most waiting, one by one: each
  /// ended watcher's bytes leave the total at once.
  private func endSlowestWhileOverTotal() {
    while budget.isOverTotal {
      let slowest = subscribers.withLock { $0 }.filter { !$0.buffer.isRetired }
        .max { $0.buffer.waitingBytes < $1.buffer.waitingBytes }
      guard let slowest else { return }
      slowest.endSlow()
    }
  }

  /// A watcher's subscription. `counted` ones count toward the subscriber limit and
  /// Stats; the server's own consumers (the event log) do not.
  func subscribe(_ filter: EventFilter, counted: Bool = true) throws(StoreError) -> Subscription {
    try add(counted: counted) { id, removal in
      Subscription(id: id, filter: filter, buffer: budget.makeBuffer(countsValues: true), removal: removal)
    }
  }

  /// A watcher whose events are pushed into `sink`.
  func subscribe(_ filter: EventFilter, sink: some EventSink) throws(StoreError) -> PushSubscription {
    try add(counted: true) { id, removal in
      PushSubscription(id: id, filter: filter, sink: sink, removal: removal)
    }
  }

  private func add<S: Subscriber>(
    counted: Bool, _ make: (UInt64, @escaping @Sendable () -> Void) -> S
  ) throws(StoreError) -> S {
    if closed.load(ordering: .relaxed) { throw StoreError(.unavailable, "server is shutting down") }
    if counted { try countSubscriber() }
    let id = nextSubscriberID.wrappingAdd(1, ordering: .relaxed).newValue
    let subscriber = make(id) { [weak self] in self?.remove(id, counted: counted) }
    subscribers.withLock { $0.append(subscriber) }
    hasSubscribers.store(true, ordering: .relaxed)
    return subscriber
  }

  private func countSubscriber() throws(StoreError) {
    if subscriberLimit > 0 {
      guard subscriberCount.increment(below: subscriberLimit) != nil else {
        throw .subscriberLimit(subscriberLimit)
      }
    } else {
      subscriberCount.add(1)
    }
  }

  private func remove(_ id: UInt64, counted: Bool) {
    let removed = subscribers.withLock { list in
      guard let index = list.firstIndex(where: { $0.id == id }) else { return false }
      list.remove(at: index)
      hasSubscribers.store(!list.isEmpty, ordering: .relaxed)
      return true
    }
    if removed, counted { subscriberCount.add(-1) }
  }

  /// Ends every watch stream and refuses new ones (graceful shutdown).
  func close() {
    closed.store(true, ordering: .relaxed)
    for subscriber in subscribers.withLock({ $0 }) { subscriber.finish() }
  }
}
