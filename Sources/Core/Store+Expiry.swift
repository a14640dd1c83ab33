import Foundation
import HeapModule
import Synchronization

extension Store {
  /// Expires lifespans and releases locks whose time has come. Called every few
  /// milliseconds by `run()` while there are timers; tests with a manual clock call it
  /// directly. One sweep at a time: a sweep starts by forgetting the earliest deadline.
  public func sweepExpired() {
    let now = clock.now()
    guard nextExpiry.isDue(at: now) else { return }
    nextExpiry.reset()
    for shard in shards {
      shard.state.withLock { state in
        while let timer = state.timers.min, timer.deadline <= now {
          state.timers.removeMin()
          fire(timer, now, &state)
        }
        if let next = state.timers.min { nextExpiry.lower(to: next.deadline) }
      }
    }
  }

  private func fire(_ timer: Timer, _ now: Date, _ state: inout ShardState) {
    guard let entry = state.entry(timer.key) else { return }
    let key = timer.key
    switch timer.kind {
    case .lifespan:
      guard let lifespan = entry.lifespan, lifespan.expires == timer.deadline else { return }
      let removed = remove(key, entry, dropHistory: !options.keepDeletedKeyHistory, &state)
      if entry.lock != nil {
        // The key is gone: value watchers skip this UNLOCKED (decision 12.14).
        emit(.unlocked, key, by: ClientID.internalID, at: now, in: &state)
      }
      emit(.expired, key, by: ClientID.internalID, at: now, value: .removed(removed), in: &state)
    case .lock:
      guard let lock = entry.lock, lock.expires == timer.deadline else { return }
      state.modifyEntry(key) { $0.lock = nil }
      counters.locks.add(-1)
      emit(.unlocked, key, by: ClientID.internalID, at: now, value: .current, in: &state)
    }
  }

  /// Runs the background work until cancelled: the expiry sweeper, the scheduled
  /// pruner and the eager pruner. Ends every watch stream when it returns.
  public func run(sweepEvery tick: Duration = .milliseconds(20)) async {
    await withTaskGroup(of: Void.self) { group in
      group.addTask {
        while !Task.isCancelled {
          self.sweepExpired()
          await self.nextExpiry.waitForTimers()
          try? await Task.sleep(for: tick)
        }
      }
      if options.pruneInterval > .zero, options.pruneAt > 0 {
        group.addTask {
          while !Task.isCancelled {
            try? await Task.sleep(for: self.options.pruneInterval)
            if Task.isCancelled { break }
            if self.counters.keys.value >= self.options.pruneAt {
              self.prune(to: self.options.scheduledPruneTarget)
            }
          }
        }
      }
      if memory.limit > 0 {
        group.addTask {
          while !Task.isCancelled {
            if self.memory.sample(self.memoryHeld()), self.memory.policy == .prune { self.pruneForMemory() }
            try? await Task.sleep(for: MemoryLimit.sampleInterval)
          }
        }
      }
      if options.eagerPruneAt > 0 {
        group.addTask {
          for await key in self.eagerPruneSignal.stream {
            self.eagerPrune(sparing: key)
          }
        }
      }
      await withTaskCancellationHandler {
        await group.next()
      } onCancel: {
        self.eagerPruneSignal.continuation.finish()
      }
      group.cancelAll()
    }
    bus.close()
  }

  /// Ends every open watch stream, as a graceful shutdown begins (decision 12.40).
  public func endWatches() { bus.close() }
}
