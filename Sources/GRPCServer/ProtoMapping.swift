import Core
import Foundation
import KeyquarryProtos
import SwiftProtobuf

// Conversions between Core's types and the wire messages.

extension Google_Protobuf_Timestamp {
  init(_ date: Date) { self.init(date: date) }
}

extension Google_Protobuf_Duration {
  init(_ duration: Duration) { self.init(rounding: duration) }
}

extension Keyquarry_KeyEvent {
  public init(_ kind: KeyEvent) { self = Keyquarry_KeyEvent(rawValue: kind.rawValue) ?? .noEvent }
}

extension Keyquarry_Event {
  public init(_ event: Event) {
    self.init()
    key = event.key
    self.event = Keyquarry_KeyEvent(event.kind)
    time = Google_Protobuf_Timestamp(event.time)
    clientID = event.clientID
  }
}

extension Keyquarry_WatchKeyValueResponse {
  public init(_ update: ValueUpdate) {
    self.init()
    key = update.key
    value = update.snapshot.value
    contentType = update.snapshot.contentType
    hash = update.snapshot.hash
    version = update.snapshot.version
    keyEvent = Keyquarry_KeyEvent(update.kind)
    eventClientID = update.clientID
    if let time = update.time { eventTimestamp = Google_Protobuf_Timestamp(time) }
  }
}

extension Keyquarry_KeyMetric {
  init(_ metric: KeyMetric) {
    self.init()
    accessCount = metric.accessCount
    setCount = metric.setCount
    lockCount = metric.lockCount
    if let date = metric.firstAccessed { firstAccessed = .init(date) }
    if let date = metric.lastAccessed { lastAccessed = .init(date) }
    if let date = metric.firstSet { firstSet = .init(date) }
    if let date = metric.lastSet { lastSet = .init(date) }
    if let date = metric.firstLocked { firstLocked = .init(date) }
    if let date = metric.lastLocked { lastLocked = .init(date) }
  }
}

extension Keyquarry_InspectResponse {
  init(_ info: KeyInfo) {
    self.init()
    key = info.key
    hash = info.hash
    created = .init(info.created)
    if let updated = info.updated { self.updated = .init(updated) }
    version = info.version
    size = UInt64(info.size)
    locked = info.locked
    if let lifespan = info.lifespan { self.lifespan = .init(lifespan) }
    if let lifespanSet = info.lifespanSet { self.lifespanSet = .init(lifespanSet) }
    contentType = info.contentType
    if let value = info.value { self.value = value }
    if let metrics = info.metrics { self.metrics = .init(metrics) }
  }
}

extension Keyquarry_ServerMetrics {
  public init(_ stats: StoreStats) {
    self.init()
    keys = UInt64(stats.keys)
    totalSize = UInt64(stats.totalSize)
    currentLocks = UInt64(stats.currentLocks)
    clientIds = UInt64(stats.clientIDs)
    reapers = UInt64(stats.lifespans)
    eventSubscribers = UInt64(stats.eventSubscribers)
    snapshotsCreated = UInt64(stats.snapshotsCreated)
    snapshotsFailed = UInt64(stats.snapshotsFailed)
    eagerPruneTriggered = UInt64(stats.eagerPruneTriggered)
    pruneCompleted = UInt64(stats.pruneCompleted)
    var events = Keyquarry_EventMetrics()
    events.new = stats.events[.created] ?? 0
    events.updated = stats.events[.updated] ?? 0
    events.deleted = stats.events[.deleted] ?? 0
    events.locked = stats.events[.locked] ?? 0
    events.unlocked = stats.events[.unlocked] ?? 0
    events.expired = stats.events[.expired] ?? 0
    events.expunged = stats.events[.expunged] ?? 0
    events.accessed = stats.events[.accessed] ?? 0
    events.lifespanSet = stats.events[.lifespanSet] ?? 0
    events.lifespanRenewed = stats.events[.lifespanRenewed] ?? 0
    self.events = events
    var pressure = Keyquarry_KeyPressure()
    pressure.keys = UInt64(stats.keys)
    pressure.max = UInt64(stats.maxKeys)
    pressure.used = stats.pressure
    pressure.memoryUsed = UInt64(stats.memoryUsed)
    pressure.maxMemory = UInt64(stats.maxMemory)
    pressure.memoryPressure = stats.memoryPressure
    self.pressure = pressure
    var history = Keyquarry_HistoryMetrics()
    history.keys = UInt64(stats.historyKeys)
    history.revisions = UInt64(stats.historyRevisions)
    self.history = history
    if let figures = stats.journal { journal = Keyquarry_JournalMetrics(figures) }
  }
}

extension Keyquarry_JournalMetrics {
  init(_ figures: JournalFigures) {
    self.init()
    durability = figures.durability
    bytes = UInt64(figures.bytes)
    recordsReplayed = UInt64(figures.recordsReplayed)
    if let lastSync = figures.lastSync { lastFsync = Google_Protobuf_Timestamp(date: lastSync) }
    lastFsyncDuration = Google_Protobuf_Duration(figures.lastSyncDuration)
    failures = UInt64(figures.failures)
    failing = figures.failing
}
}
