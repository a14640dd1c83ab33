import Core
import Foundation
import SwiftProtobuf

// Conversions between Core's snapshot types and the storage records.

extension Keyquarry_Snapshot_KeyRecord {
  init(_ key: SnapshotKey) {
    self.init()
    self.key = key.key
    value = key.value
    contentType = key.contentType
    hash = key.hash
    version = key.version
    created = UnixNanos.from(key.created)
    updated = UnixNanos.from(key.updated)
    createdBy = key.createdBy
    if let lock = key.lock {
      self.lock = .with {
        $0.owner = lock.owner
        $0.created = UnixNanos.from(lock.created)
        $0.expires = UnixNanos.from(lock.expires)
      }
    }
    if let lifespan = key.lifespan {
      self.lifespan = .with {
        $0.duration = lifespan.duration.nanoseconds
        $0.setAt = UnixNanos.from(lifespan.setAt)
      }
    }
  }

  var snapshotKey: SnapshotKey {
    SnapshotKey(
      key: key, value: value, contentType: contentType, hash: hash, version: version,
      created: UnixNanos.date(created) ?? Date(), updated: UnixNanos.date(updated), createdBy: createdBy,
      lock: hasLock ? SnapshotLock(owner: lock.owner, created: UnixNanos.date(lock.created) ?? Date(), expires: UnixNanos.date(lock.expires) ?? Date()) : nil,
      lifespan: hasLifespan ? SnapshotLifespan(duration: .nanoseconds(lifespan.duration), setAt: UnixNanos.date(lifespan.setAt) ?? Date()) : nil)
  }
}

extension Keyquarry_Snapshot_RevisionRecord {
  init(_ revision: Revision) {
    self.init()
    version = revision.version
    value = revision.value
    contentType = revision.contentType
    hash = revision.hash
    recorded = UnixNanos.from(revision.recorded)
  }

  var revision: Revision {
    Revision(version: version, value: value, contentType: contentType, hash: hash, recorded: UnixNanos.date(recorded) ?? Date())
  }
}

extension Keyquarry_Snapshot_MetricRecord {
  init(_ key: String, _ metric: KeyMetric) {
    self.init()
    self.key = key
    accessCount = metric.accessCount
    firstAccessed = UnixNanos.from(metric.firstAccessed)
    lastAccessed = UnixNanos.from(metric.lastAccessed)
    setCount = metric.setCount
    firstSet = UnixNanos.from(metric.firstSet)
    lastSet = UnixNanos.from(metric.lastSet)
    lockCount = metric.lockCount
    firstLocked = UnixNanos.from(metric.firstLocked)
    lastLocked = UnixNanos.from(metric.lastLocked)
  }

  var keyMetric: KeyMetric {
    var metric = KeyMetric()
    metric.accessCount = accessCount
    metric.firstAccessed = UnixNanos.date(firstAccessed)
    metric.lastAccessed = UnixNanos.date(lastAccessed)
    metric.setCount = setCount
    metric.firstSet = UnixNanos.date(firstSet)
    metric.lastSet = UnixNanos.date(lastSet)
    metric.lockCount = lockCount
    metric.firstLocked = UnixNanos.date(firstLocked)
    metric.lastLocked = UnixNanos.date(lastLocked)
    return metric
  }
}
