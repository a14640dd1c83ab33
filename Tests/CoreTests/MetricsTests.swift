import Foundation
import Testing

@testable import Core

@Suite struct MetricsTests {
  @Test func keyMetricsFollowTheEvents() throws {
    let (store, clock) = makeStore()
    try store.set("foo", value: data("bar"), by: alice)
    var metric = try store.keyMetric("foo")
    #expect(metric.setCount == 1)
    #expect(metric.accessCount == 0)
    #expect(metric.lockCount == 0)
    let firstSet = metric.firstSet

    clock.advance(by: .seconds(1))
    let info = try store.inspect("foo", includeValue: true, includeMetrics: true, by: alice)
    #expect(info.metrics?.accessCount == 0, "the metrics returned do not include this access")
    metric = try store.keyMetric("foo")
    #expect(metric.accessCount == 1)
    #expect(metric.firstAccessed == metric.lastAccessed)

    clock.advance(by: .seconds(1))
    _ = try store.get("foo", by: alice)
    metric = try store.keyMetric("foo")
    #expect(metric.accessCount == 2)
    #expect(metric.lastAccessed! > metric.firstAccessed!)

    try store.delete("foo", by: alice)
    #expect(try store.keyMetric("foo").accessCount == 2, "metrics survive deletion")

    clock.advance(by: .seconds(1))
    try store.set("foo", value: data("bar"), by: alice)
    try store.lock("foo", duration: .seconds(10), by: alice)
    metric = try store.keyMetric("foo")
    #expect(metric.setCount == 2)
    #expect(metric.lastSet! > firstSet!)
    #expect(metric.lockCount == 1)
    #expect(metric.firstLocked == metric.lastLocked)
    expectError(.notFound) { _ = try store.keyMetric("never") }
    #expect(try store.keyMetric("keyquarry/Started").setCount == 1)
  }

  /// A key set once keeps no metrics of its own (they follow from its entry) until it is
  /// read, changed, locked or removed: each must show the creation as recorded.
  @Test func theMetricsOfAKeySetOnceSurviveEveryChange() throws {
    let (store, clock) = makeStore()
    for key in ["read", "updated", "locked", "deleted"] { try store.set(key, value: data("v"), by: alice) }
    let created = try store.keyMetric("read").firstSet
    #expect(created != nil)
    clock.advance(by: .seconds(1))
    _ = try store.get("read", by: alice)
    try store.set("updated", value: data("w"), by: alice)
    try store.lock("locked", duration: .seconds(10), by: alice)
    try store.delete("deleted", by: alice)
    for key in ["read", "updated", "locked", "deleted"] {
      let metric = try store.keyMetric(key)
      #expect(metric.firstSet == created, "\(key)")
      #expect(metric.setCount == (key == "updated" ? 2 : 1), "\(key)")
    }
    #expect(try store.keyMetric("read").accessCount == 1)
    #expect(try store.keyMetric("locked").lockCount == 1)
    #expect(try store.keyMetric("updated").lastSet! > created!)
  }
}
