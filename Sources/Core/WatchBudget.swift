import Synchronization

/// The limits every watcher's `WatchBuffer` follows, and the bytes all of them hold
/// together against `watch_buffer_total`.
final class WatchBudget: Sendable {
  struct Limits: Sendable {
    var capacity: Int
    var sendTimeout: Duration
    var hard: Int
    var soft: Int
    var softTime: Duration
    var total: Int
  }

  let limits: Limits
  /// The total in whole granules of each watcher's bytes, so that a watcher touches this
  /// one shared counter once per granule instead of once per event.
  private let granules = Atomic<Int>(0)
  private let ended = Atomic<Int>(0)
  private static let granuleShift = 16

  init(options: StoreOptions) {
    limits = Limits(
      capacity: options.eventStreamBufferSize, sendTimeout: options.eventStreamSendTimeout,
      hard: options.watchBufferLimit, soft: options.watchBufferSoftLimit, softTime: options.watchBufferSoftTime,
      total: options.watchBufferTotal)
  }

  func makeBuffer(countsValues: Bool) -> WatchBuffer { WatchBuffer(budget: self, countsValues: countsValues) }

  /// Bytes waiting for all watchers, counted in 64 KiB steps per watcher.
  var totalBytes: Int { granules.load(ordering: .relaxed) << Self.granuleShift }

  /// Watchers ended by a slow-consumer rule.
  var slowWatchersEnded: Int { ended.load(ordering: .relaxed) }
  func countSlowWatcher() {
    ended.add(1, ordering: .relaxed)
    MemoryRelease.trimSoon(after: .seconds(1))
  }

  var isOverTotal: Bool { limits.total > 0 && totalBytes > limits.total }

  /// A watcher's bytes went from `before` to `after`.
  func account(from before: Int, to after: Int) {
    let change = (after >> Self.granuleShift) - (before >> Self.granuleShift)
    if change != 0 { granules.add(change, ordering: .relaxed) }
  }
}
