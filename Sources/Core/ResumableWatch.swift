/// What a resuming watcher receives: first the buffered events it missed (or `reset`
/// when they are no longer all buffered), then the live stream.
public enum WatchItem: Sendable {
  case reset
  case event(Event)
}

/// The buffered events a resuming watcher missed, to be sent before the live ones.
public struct WatchReplay: Sendable {
  public let items: [WatchItem]
  /// Replayed events may arrive live as well: those are skipped.
  let replayed: Set<UInt64>

  /// Asked for every live event of the watch: nothing to look up when nothing was replayed.
  public func includes(_ event: Event) -> Bool { !replayed.isEmpty && replayed.contains(event.sequence) }
}

extension Store {
  /// WatchStream for clients that reconnect with the id of the last event they saw
  /// (SSE `Last-Event-ID`). Without `lastSeen` it is the plain live stream.
  public func watch(_ filter: EventFilter, resumingAfter lastSeen: UInt64?) throws(StoreError) -> ResumableWatch {
    let subscription = try bus.subscribe(filter)  // first, so nothing falls between replay and live
    return ResumableWatch(replay: replay(after: lastSeen, filter), subscription: subscription)
  }

  /// The same, pushed into `sink` (see `watch(_:into:)`): the replay is the caller's to
  /// send before the first pushed event.
  public func watch(
    _ filter: EventFilter, resumingAfter lastSeen: UInt64?, into sink: some EventSink
  ) throws(StoreError) -> (WatchReplay, PushSubscription) {
    let subscription = try bus.subscribe(filter, sink: sink)
    return (replay(after: lastSeen, filter), subscription)
  }

  private func replay(after lastSeen: UInt64?, _ filter: EventFilter) -> WatchReplay {
    let current = bus.sequence
    var items: [WatchItem] = []
    var replayed = Set<UInt64>()
    if let lastSeen, lastSeen != current {
      // What a client missed is unknown when its id is too old for the buffer, or from an
      // earlier run: the events after it are then in no buffer (the id is below the
      // restored sequence), or the id was never given out here (ids start again from the
      // last snapshot: from 0 without one).
      if lastSeen < bus.restoredSequence || lastSeen > current || current - lastSeen > UInt64(bus.recent.capacity) {
        items.append(.reset)
      } else {
        for sequence in (lastSeen + 1)...current {
          // A missing event is still being published: it will arrive live.
          guard let event = bus.recent.event(sequence), filter.matches(event) else { continue }
          items.append(.event(event))
          replayed.insert(sequence)
        }
      }
    }
    return WatchReplay(items: items, replayed: replayed)
  }
}

public struct ResumableWatch: AsyncSequence, Sendable {
  let replay: WatchReplay
  public let subscription: Subscription

  public struct AsyncIterator: AsyncIteratorProtocol {
    var pending: IndexingIterator<[WatchItem]>
    let replay: WatchReplay
    var live: Subscription.Events.AsyncIterator

    public mutating func next() async -> WatchItem? {
      if let item = pending.next() { return item }
      while let event = await live.next() {
        if !replay.includes(event) { return .event(event) }
      }
      return nil
    }
  }

  public func makeAsyncIterator() -> AsyncIterator {
    AsyncIterator(pending: replay.items.makeIterator(), replay: replay, live: subscription.events.makeAsyncIterator())
  }
}
