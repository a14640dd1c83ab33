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
}
