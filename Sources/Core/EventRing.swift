import Synchronization

/// The most recent events (without values), by sequence number, so an SSE client that
/// reconnects with Last-Event-ID can be sent what it missed. Slots are spread over
/// striped locks: consecutive events land on different stripes, so publishers on
/// different shards rarely meet.
final class EventRing: Sendable {
  private final class Stripe: Sendable {
    let slots: Mutex<[Event?]>
    init(count: Int) { slots = Mutex(Array(repeating: nil, count: count)) }
  }

  private static let stripeCount = 16
  let capacity: Int
  private let stripes: [Stripe]

  init(capacity: Int) {
    let perStripe = max(1, (capacity + Self.stripeCount - 1) / Self.stripeCount)
    self.capacity = perStripe * Self.stripeCount
    stripes = (0..<Self.stripeCount).map { _ in Stripe(count: perStripe) }
  }

  private func locate(_ sequence: UInt64) -> (stripe: Stripe, index: Int) {
    let slot = Int(sequence % UInt64(capacity))
    return (stripes[slot % Self.stripeCount], slot / Self.stripeCount)
  }

  func store(_ event: Event) {
    let (stripe, index) = locate(event.sequence)
    stripe.slots.withLock { $0[index] = event }
  }

  /// The event numbered `sequence`, if it is still held (and already stored).
  func event(_ sequence: UInt64) -> Event? {
    let (stripe, index) = locate(sequence)
    return stripe.slots.withLock { slots in
      guard let event = slots[index], event.sequence == sequence else { return nil }
      return event
    }
  }
}
