import Synchronization

/// Number of events of each type since start (`Stats.events`).
final class EventCounters: Sendable {
  /// Indexed by the event's raw value.
  private let counts: [AtomicCounter] = KeyEvent.allCases.map { _ in AtomicCounter() }

  func increment(_ kind: KeyEvent) { counts[kind.rawValue].add(1) }

  func count(of kind: KeyEvent) -> UInt64 { UInt64(counts[kind.rawValue].value) }
}

/// A shareable atomic integer (Atomic itself cannot be stored in an array).
final class AtomicCounter: Sendable {
  private let atomic: Atomic<Int>

  init(_ value: Int = 0) { atomic = Atomic(value) }

  var value: Int { atomic.load(ordering: .relaxed) }

  @discardableResult
  func add(_ delta: Int) -> Int { atomic.wrappingAdd(delta, ordering: .relaxed).newValue }

  func store(_ value: Int) { atomic.store(value, ordering: .relaxed) }

  /// Adds one unless the value has reached `limit`; returns the value before, or nil.
  func increment(below limit: Int) -> Int? {
    var current = atomic.load(ordering: .relaxed)
    while current < limit {
      let (exchanged, original) = atomic.compareExchange(
        expected: current, desired: current + 1, ordering: .relaxed)
      if exchanged { return current }
      current = original
    }
    return nil
  }
}
