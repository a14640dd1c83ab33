/// What a resuming watcher receives: first the buffered events it missed (or `reset`
/// when they are no longer all buffered), then the live stream.
public enum WatchItem: Sendable {
  case reset
  case event(Event)
}

extension Store {
  /// WatchStream for clients that reconnect with the id of the last event they saw
  /// (SSE `Last-Event-ID`). Without `lastSeen` it is the plain live stream.
  public func watch(_ filter: EventFilter, resumingAfter lastSeen: UInt64?) throws(StoreError) -> ResumableWatch {
    let subscription = try bus.subscribe(filter)  // first, so nothing falls between replay and live
    let current = bus.sequence
    var replay: [WatchItem] = []
    var replayed = Set<UInt64>()
    if let lastSeen, lastSeen < current {
      if current - lastSeen > UInt64(bus.recent.capacity) {
        replay.append(.reset)
      } else {
        for sequence in (lastSeen + 1)...current {
          // A missing event is still being published: it will arrive live.
          guard let event = bus.recent.event(sequence), filter.matches(event) else { continue }
          replay.append(.event(event))
          replayed.insert(sequence)
        }
      }
    }
    return ResumableWatch(replay: replay, replayed: replayed, subscription: subscription)
  }
}

public struct ResumableWatch: AsyncSequence, Sendable {
  let replay: [WatchItem]
  let replayed: Set<UInt64>
  public let subscription: Subscription

  public struct AsyncIterator: AsyncIteratorProtocol {
    var replay: IndexingIterator<[WatchItem]>
    let replayed: Set<UInt64>
    var live: AsyncStream<Event>.AsyncIterator

    public mutating func next() async -> WatchItem? {
      if let item = replay.next() { return item }
      while let event = await live.next() {
        if !replayed.contains(event.sequence) { return .event(event) }
      }
      return nil
    }
  }

  public func makeAsyncIterator() -> AsyncIterator {
    AsyncIterator(replay: replay.makeIterator(), replayed: replayed, live: subscription.events.makeAsyncIterator())
  }
}
