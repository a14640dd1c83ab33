import Core
import Foundation
import GRPCCore
import KeyquarryProtos
import SwiftProtobuf
import Testing

@Suite struct KeyValueRPCTests {
  @Test func seedExampleOverTCP() async throws {
    try await TestServer.with { server in
      let kq = server.keyquarry
      let me = TestServer.id("me")
      let set = try await kq.set(.with { $0.key = "foo"; $0.value = Data("bar") }, metadata: me)
      #expect(set.success && set.isNew)
      #expect(try await kq.get(.with { $0.key = "foo" }, metadata: me).value == Data("bar"))
      let update = try await kq.set(.with { $0.key = "foo"; $0.value = Data("baz") }, metadata: me)
      #expect(update.success && !update.isNew)
      #expect(try await kq.get(.with { $0.key = "foo" }, metadata: me).value == Data("baz"))

      let info = try await kq.inspect(.with { $0.key = "foo" }, metadata: me)
      #expect(info.key == "foo")
      #expect(info.hash == 16_092_559_880_829_058)
      #expect(info.version == 2)
      #expect(info.size == 3)
      #expect(info.contentType == "text/plain; charset=utf-8")
      #expect(info.hasLocked && !info.locked)
      #expect(info.hasUpdated)
      #expect(!info.hasValue)

      let lock = try await kq.lock(.with { $0.key = "foo"; $0.duration = .init(seconds: 30) }, metadata: me)
      #expect(lock.success)
      await expectRPCError(.permissionDenied, containing: "key is locked") {
        _ = try await kq.set(.with { $0.key = "foo"; $0.value = Data("nope") }, metadata: TestServer.id("bar"))
      }
      #expect(try await kq.get(.with { $0.key = "foo" }, metadata: me).value == Data("baz"))
      #expect(try await kq.unlock(.with { $0.key = "foo" }, metadata: me).success)
      #expect(try await kq.delete(.with { $0.key = "foo" }, metadata: me).deleted)
      #expect(try await kq.exists(.with { $0.key = "foo" }, metadata: me).exists == false)
    }
  }

  @Test func worksOverAUnixSocket() async throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("kq-\(UUID().uuidString.prefix(8)).sock").path
    try await TestServer.with(address: .unix(path: path)) { server in
      #expect(FileManager.default.fileExists(atPath: path))
      _ = try await server.keyquarry.set(.with { $0.key = "k"; $0.value = Data("v") }, metadata: TestServer.id("me"))
      #expect(try await server.keyquarry.get(.with { $0.key = "k" }, metadata: TestServer.id("me")).value == Data("v"))
    }
    #expect(!FileManager.default.fileExists(atPath: path), "the socket file is removed on shutdown")
  }

  @Test func binaryValuesRoundTripWithInspectValueAndMetrics() async throws {
    try await TestServer.with { server in
      let kq = server.keyquarry
      let me = TestServer.id("me")
      let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0xFF, 0x10])
      _ = try await kq.set(.with { $0.key = "img"; $0.value = png }, metadata: me)
      let info = try await kq.inspect(
        .with { $0.key = "img"; $0.includeValue = true; $0.includeMetrics = true }, metadata: me)
      #expect(info.value == png)
      #expect(info.contentType == "image/png")
      #expect(info.metrics.setCount == 1)
      let metric = try await kq.getKeyMetric(.with { $0.key = "img" }, metadata: me)
      #expect(metric.accessCount == 1)
      #expect(metric.hasFirstAccessed)
      await expectRPCError(.notFound) { _ = try await kq.getKeyMetric(.with { $0.key = "never" }, metadata: me) }
    }
  }

  @Test func listPopClearStatsAndHistory() async throws {
    try await TestServer.with { server in
      let kq = server.keyquarry
      let me = TestServer.id("me")
      for key in ["bar", "baz", "foo"] {
        _ = try await kq.set(.with { $0.key = key; $0.value = Data(key) }, metadata: me)
      }
      _ = try await kq.set(.with { $0.key = "foo"; $0.value = Data("foo2") }, metadata: me)
      #expect(try await kq.listKeys(.with { $0.pattern = "ba*"; $0.limit = 2 }, metadata: me).keys == ["bar", "baz"])
      #expect(try await kq.listKeys(.with { $0.limit = 1_000_000 }, metadata: me).keys == ["bar", "baz", "foo"])
      #expect(try await kq.listKeys(.with { $0.includeReserved = true }, metadata: me).keys.count == 19)

      let revision = try await kq.getRevision(.with { $0.key = "foo"; $0.version = 1 }, metadata: me)
      #expect(revision.value == Data("foo"))
      #expect(revision.hasTimestamp)
      #expect(try await kq.getRevision(.with { $0.key = "foo"; $0.version = -1 }, metadata: me).value == Data("foo"))
      await expectRPCError(.invalidArgument) {
        _ = try await kq.getRevision(.with { $0.key = "foo"; $0.version = 0 }, metadata: me)
      }

      #expect(try await kq.pop(.with { $0.key = "bar" }, metadata: me).value == Data("bar"))
      let stats = try await kq.stats(Keyquarry_EmptyRequest(), metadata: me)
      #expect(stats.keys == 2)
      #expect(stats.hasCurrentLocks && stats.currentLocks == 0)
      #expect(stats.hasSnapshotsFailed && stats.snapshotsFailed == 0)
      #expect(stats.events.new == 16 + 3)
      #expect(stats.events.updated == 1)
      #expect(stats.history.revisions == 3)

      let cleared = try await kq.clearHistory(Keyquarry_EmptyRequest(), metadata: me)
      #expect(cleared.keys == 2 && cleared.cleared == 3)

      let clear = try await kq.clear(.with { $0.force = false }, metadata: me)
      #expect(clear.success && clear.keysDeleted == 2)
      #expect(try await kq.stats(Keyquarry_EmptyRequest(), metadata: me).keys == 0)
    }
  }

  @Test func lockConflictsBetweenTwoClients() async throws {
    try await TestServer.with { server in
      let kq = server.keyquarry
      let alice = TestServer.id("alice")
      let bob = TestServer.id("bob")
      await expectRPCError(.notFound) {
        _ = try await kq.lock(.with { $0.key = "k"; $0.duration = .init(seconds: 10) }, metadata: alice)
      }
      await expectRPCError(.outOfRange) { _ = try await kq.lock(.with { $0.key = "k" }, metadata: alice) }
      _ = try await kq.lock(
        .with { $0.key = "k"; $0.duration = .init(seconds: 10); $0.createIfMissing = true }, metadata: alice)
      for call in [
        { _ = try await kq.get(.with { $0.key = "k" }, metadata: bob) },
        { _ = try await kq.pop(.with { $0.key = "k" }, metadata: bob) },
        { _ = try await kq.delete(.with { $0.key = "k" }, metadata: bob) },
        { _ = try await kq.unlock(.with { $0.key = "k" }, metadata: bob) },
        { _ = try await kq.lock(.with { $0.key = "k"; $0.duration = .init(seconds: 10) }, metadata: bob) },
        { _ = try await kq.inspect(.with { $0.key = "k"; $0.includeValue = true }, metadata: bob) },
        { _ = try await kq.getRevision(.with { $0.key = "k"; $0.version = 1 }, metadata: bob) },
      ] as [() async throws -> Void] {
        await expectRPCError(.permissionDenied, containing: "key is locked", call)
      }
      #expect(try await kq.inspect(.with { $0.key = "k" }, metadata: bob).locked)
      #expect(try await kq.unlock(.with { $0.key = "k" }, metadata: alice).success)
      #expect(try await kq.get(.with { $0.key = "k" }, metadata: bob).value.isEmpty)
    }
  }

  @Test func lifespansAndLocksExpireOverTheWire() async throws {
    try await TestServer.with { server in
      let kq = server.keyquarry
      let me = TestServer.id("me")
      _ = try await kq.set(
        .with { $0.key = "long"; $0.value = Data("v"); $0.lifespan = .init(seconds: 3600) }, metadata: me)
      let info = try await kq.inspect(.with { $0.key = "long" }, metadata: me)
      #expect(info.lifespan == .init(seconds: 3600))
      #expect(info.hasLifespanSet)
      // protobuf's longest duration (10,000 years) is kept at Go's longest, as the original
      // kept it (a snapshot of it used to trap on the nanosecond overflow).
      _ = try await kq.set(
        .with { $0.key = "forever"; $0.value = Data("v"); $0.lifespan = .init(seconds: 315_576_000_000) }, metadata: me)
      let forever = try await kq.inspect(.with { $0.key = "forever" }, metadata: me)
      #expect(forever.lifespan == .init(seconds: Int64.max / 1_000_000_000, nanos: Int32(Int64.max % 1_000_000_000)))
      _ = try await kq.set(
        .with { $0.key = "short"; $0.value = Data("v"); $0.lifespan = .init(rounding: .seconds(1)) },
        metadata: me)
      _ = try await kq.set(
        .with { $0.key = "locked"; $0.value = Data("v"); $0.lockDuration = .init(rounding: .seconds(1)) },
        metadata: me)
      try await Task.sleep(for: .milliseconds(2000))
      await expectRPCError(.notFound) { _ = try await kq.get(.with { $0.key = "short" }, metadata: me) }
      #expect(try await kq.get(.with { $0.key = "locked" }, metadata: TestServer.id("other")).value == Data("v"))
    }
  }
}
