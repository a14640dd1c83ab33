import Foundation
import Synchronization

extension Store {
  /// Applies one journaled change at start-up, after the snapshot's restore and before
  /// serving: the key is left as the change left it, with its counters and timers. A
  /// lock or lifespan that ran out while the server was down ends at the first sweep,
  /// with its event, as if the server had been running.
  public func replay(_ change: JournalChange) {
    switch change {
    case .put(let saved, let valueChanged, let sequence):
      bus.advanceSequence(to: sequence)
      withShard(of: saved.key) { state in replayPut(saved, valueChanged: valueChanged, &state) }
    case .remove(let key, let keepHistory, let sequence):
      bus.advanceSequence(to: sequence)
      withShard(of: key) { state in
        if let entry = state.entry(key) { remove(key, entry, dropHistory: !keepHistory, &state) }
      }
    case .clearHistory(let key):
      withShard(of: key) { $0.clearHistory(key) }
    case .register(let client, let date):
      restoreClients([client], at: date)
    case .readOnly(let enable):
      readOnly.store(enable, ordering: .relaxed)
    case .sequence(let sequence):
      bus.advanceSequence(to: sequence)
    }
  }

  private func replayPut(_ saved: SnapshotKey, valueChanged: Bool, _ state: inout ShardState) {
    let key = saved.key
    var entry = saved.entry
    entry.contentType = state.contentType(entry.contentType, of: saved.value)
    if let existing = state.entry(key) {
      if existing.lock != nil { counters.locks.add(-1) }
      if existing.lifespan != nil { counters.lifespans.add(-1) }
      if valueChanged {
        let outgoing = state.changeValue(key, to: saved.value, revisionLimit: options.revisionLimit) { $0 = entry }
        counters.totalSize.add(saved.value.count - outgoing)
      } else {
        state.modifyEntry(key) { $0 = entry }
      }
    } else {
      // A lock or lifespan change follows its key's creation, in the journal or the snapshot.
      guard valueChanged else { return }
      state.insert(key, entry, value: saved.value, revisionLimit: options.revisionLimit)
      counters.keys.add(1)
      counters.totalSize.add(saved.value.count)
    }
    if let lock = entry.lock {
      counters.locks.add(1)
      state.schedule(Timer(deadline: lock.expires, key: key, kind: .lock))
    }
    if let lifespan = entry.lifespan {
      counters.lifespans.add(1)
      state.schedule(Timer(deadline: lifespan.expires, key: key, kind: .lifespan))
    }
  }
}
