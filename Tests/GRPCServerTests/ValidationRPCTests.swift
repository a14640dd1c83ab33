import Core
import Foundation
import GRPCCore
import KeyquarryProtos
import SwiftProtobuf
import Testing

@Suite struct ValidationRPCTests {
  @Test func clientIDIsCheckedOnEveryRPC() async throws {
    try await TestServer.with { server in
      let kq = server.keyquarry
      for (metadata, message) in [
        (Metadata(), "missing client_id"), (TestServer.id(""), "empty client_id"),
        (TestServer.id("keyquarry"), "reserved client_id"),
      ] {
        await expectRPCError(.invalidArgument, containing: message) {
          _ = try await kq.set(.with { $0.key = "k"; $0.value = Data("v") }, metadata: metadata)
        }
        await expectRPCError(.invalidArgument, containing: message) {
          _ = try await kq.stats(Keyquarry_EmptyRequest(), metadata: metadata)
        }
        await expectRPCError(.invalidArgument, containing: message) {
          _ = try await server.admin.prune(.with { $0.pruneTo = 0 }, metadata: metadata)
        }
        await expectRPCError(.invalidArgument, containing: message) {
          try await kq.watchStream(Keyquarry_WatchRequest(), metadata: metadata) { response in
            for try await _ in response.messages {}
          }
        }
      }
      let exists = try await kq.exists(.with { $0.key = "k" }, metadata: TestServer.id("me"))
      #expect(exists.exists == false)
    }
  }

  @Test func badInputIsRejectedAndNothingIsStored() async throws {
    var options = TestServer.fastOptions
    options.maxKeyLength = 16
    options.maxValueSize = 8
    options.minLockDuration = .seconds(1)
    options.minLifespan = .seconds(1)
    try await TestServer.with(options: options) { server in
      let kq = server.keyquarry
      let me = TestServer.id("me")
      let cases: [(RPCError.Code, String, Keyquarry_KeyValue)] = [
        (.invalidArgument, "empty key", .with { $0.value = Data("v") }),
        (.invalidArgument, "keyquarry", .with { $0.key = "keyquarry/x"; $0.value = Data("v") }),
        (.failedPrecondition, "key length", .with { $0.key = String(repeating: "k", count: 17); $0.value = Data("v") }),
        (.failedPrecondition, "value size", .with { $0.key = "k"; $0.value = Data(repeating: 1, count: 9) }),
        (.outOfRange, "lock", .with { $0.key = "k"; $0.lockDuration = .init(seconds: 0) }),
        (.outOfRange, "lock", .with { $0.key = "k"; $0.lockDuration = .init(seconds: -5) }),
        (.outOfRange, "too long", .with { $0.key = "k"; $0.lockDuration = .init(seconds: 3600) }),
        (.invalidArgument, "lifespan", .with { $0.key = "k"; $0.lifespan = .init(seconds: 0) }),
        (.invalidArgument, "lifespan", .with { $0.key = "k"; $0.lifespan = .init(seconds: -1) }),
      ]
      for (code, message, request) in cases {
        await expectRPCError(code, containing: message) { _ = try await kq.set(request, metadata: me) }
      }
      await expectRPCError(.invalidArgument, containing: "pattern") {
        _ = try await kq.listKeys(.with { $0.pattern = "[" }, metadata: me)
      }
      await expectRPCError(.invalidArgument, containing: "keyquarry") {
        _ = try await kq.lock(.with { $0.key = "KEYQUARRY"; $0.duration = .init(seconds: 5) }, metadata: me)
      }
      let stats = try await kq.stats(Keyquarry_EmptyRequest(), metadata: me)
      #expect(stats.keys == 0)
      #expect(stats.totalSize == 0)
      #expect(stats.events.new == 16)
    }
  }

  @Test func valuesLargerThanTheDefaultMessageLimitFit() async throws {
    var options = TestServer.fastOptions
    options.maxValueSize = 6 * 1024 * 1024
    try await TestServer.with(options: options) { server in
      let big = Data(repeating: 7, count: 5 * 1024 * 1024)
      _ = try await server.keyquarry.set(.with { $0.key = "big"; $0.value = big }, metadata: TestServer.id("me"))
      let info = try await server.keyquarry.inspect(.with { $0.key = "big" }, metadata: TestServer.id("me"))
      #expect(info.size == UInt64(big.count))
    }
  }

  @Test func readOnlyModeAndPrivilegedCalls() async throws {
    try await TestServer.with { server in
      let kq = server.keyquarry
      let me = TestServer.id("me")
      let admin = TestServer.id("admin")
      await expectRPCError(.permissionDenied, containing: "not authorized") {
        _ = try await kq.setReadOnly(.with { $0.enable = true }, metadata: me)
      }
      #expect(try await kq.setReadOnly(.with { $0.enable = true }, metadata: admin).success)
      await expectRPCError(.failedPrecondition, containing: "readonly") {
        _ = try await kq.set(.with { $0.key = "k"; $0.value = Data("v") }, metadata: me)
      }
      let register = try await kq.register(Keyquarry_RegisterRequest(), metadata: me)
      #expect(register.success && register.clientID == "me")
      await expectRPCError(.alreadyExists, containing: "already registered") {
        _ = try await kq.register(Keyquarry_RegisterRequest(), metadata: me)
      }
      #expect(try await kq.setReadOnly(.with { $0.enable = false }, metadata: admin).success)
      _ = try await kq.set(.with { $0.key = "k"; $0.value = Data("v") }, metadata: me)

      await expectRPCError(.permissionDenied, containing: "admin") {
        _ = try await server.admin.prune(.with { $0.pruneTo = 0 }, metadata: me)
      }
      await expectRPCError(.permissionDenied, containing: "admin") {
        _ = try await server.admin.shutdown(Keyquarry_ShutdownRequest(), metadata: me)
      }
      #expect(try await server.admin.prune(.with { $0.pruneTo = 0 }, metadata: admin).pruned == 1)
      _ = try await server.admin.shutdown(Keyquarry_ShutdownRequest(), metadata: admin)
      #expect(server.shutdownRequests.value == 1)
    }
  }
}
