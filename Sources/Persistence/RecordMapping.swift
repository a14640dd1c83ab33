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
    created = nanos(key.created)
    updated = nanos(key.updated)
    createdBy = key.createdBy
    if let lock = key.lock {
      self.lock = .with {
        $0.owner = lock.owner
        $0.created = nanos(lock.created)
        $0.expires = nanos(lock.expires)
      }
    }
    if let lifespan = key.lifespan {
      self.lifespan = .with {
        $0.duration = lifespan.duration.nanoseconds
        $0.setAt = nanos(lifespan.setAt)
      }
    }
  }

  var snapshotKey: SnapshotKey {
    SnapshotKey(
      key: key, value: value, contentType: contentType, hash: hash, version: version,
      created: date(created) ?? Date(), updated: date(updated), createdBy: createdBy,
      lock: hasLock ? SnapshotLock(owner: lock.owner, created: date(lock.created) ?? Date(), expires: date(lock.expires) ?? Date()) : nil,
      lifespan: hasLifespan ? SnapshotLifespan(duration: .nanoseconds(lifespan.duration), setAt: date(lifespan.setAt) ?? Date()) : nil)
  }
}

extension Keyquarry_Snapshot_RevisionRecord {
  init(_ revision: Revision) {
    self.init()
    version = revision.version
    value = revision.value
    contentType = revision.contentType
    hash = revision.hash
    recorded = nanos(revision.recorded)
  }

  var revision: Revision {
    Revision(version: version, value: value, contentType: contentType, hash: hash, recorded: date(recorded) ?? Date())
  }
}

extension Keyquarry_Snapshot_MetricRecord {
  init(_ key: String, _ metric: KeyMetric) {
    self.init()
    self.key = key
    accessCount = metric.accessCount
    firstAccessed = nanos(metric.firstAccessed)
    lastAccessed = nanos(metric.lastAccessed)
    setCount = metric.setCount
    firstSet = nanos(metric.firstSet)
    lastSet = nanos(metric.lastSet)
    lockCount = metric.lockCount
    firstLocked = nanos(metric.firstLocked)
    lastLocked = nanos(metric.lastLocked)
  }

  var keyMetric: KeyMetric {
    var metric = KeyMetric()
    metric.accessCount = accessCount
    metric.firstAccessed = date(firstAccessed)
    metric.lastAccessed = date(lastAccessed)
    metric.setCount = setCount
    metric.firstSet = date(firstSet)
    metric.lastSet = date(lastSet)
    metric.lockCount = lockCount
    metric.firstLocked = date(firstLocked)
    metric.lastLocked = date(lastLocked)
    return metric
  }
}
