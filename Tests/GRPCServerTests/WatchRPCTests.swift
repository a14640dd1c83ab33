import Core
import Foundation
import GRPCCore
import KeyquarryProtos
import SwiftProtobuf
import Testing

@Suite struct WatchRPCTests {
  @Test func watchStreamDeliversOtherClientsEventsFiltered() async throws {
    try await TestServer.with { server in
      let kq = server.keyquarry
      let request = Keyquarry_WatchRequest.with {
        $0.keys = ["foo"]
        $0.events = [.created, .updated, .deleted]
      }
      try await withThrowingTaskGroup(of: [Keyquarry_Event].self) { group in
        group.addTask {
          try await kq.watchStream(request, metadata: TestServer.id("watcher")) { response in
            var events: [Keyquarry_Event] = []
            for try await event in response.messages {
              events.append(event)
              if events.count == 3 { break }
            }
            return events
          }
        }
        try await waitForSubscribers(server, 1)
        let writer = TestServer.id("writer")
        _ = try await kq.set(.with { $0.key = "other"; $0.value = Data("x") }, metadata: writer)
        _ = try await kq.set(.with { $0.key = "foo"; $0.value = Data("1") }, metadata: writer)
        _ = try await kq.get(.with { $0.key = "foo" }, metadata: writer)
        _ = try await kq.set(.with { $0.key = "foo"; $0.value = Data("2") }, metadata: writer)
        _ = try await kq.delete(.with { $0.key = "foo" }, metadata: writer)
        let events = try await group.next()!
        #expect(events.map(\.event) == [.created, .updated, .deleted])
        #expect(events.allSatisfy { $0.key == "foo" && $0.clientID == "writer" && $0.hasTime })
      }
    }
  }

  @Test func watchKeyValueSendsInitialValueUpdatesAndLastValue() async throws {
    try await TestServer.with { server in
      let kq = server.keyquarry
      let writer = TestServer.id("writer")
      _ = try await kq.set(.with { $0.key = "k"; $0.value = Data("v1") }, metadata: writer)
      try await withThrowingTaskGroup(of: [Keyquarry_WatchKeyValueResponse].self) { group in
        group.addTask {
          try await kq.watchKeyValue(.with { $0.key = "k" }, metadata: TestServer.id("watcher")) { response in
            var updates: [Keyquarry_WatchKeyValueResponse] = []
            for try await update in response.messages {
              updates.append(update)
              if update.keyEvent == .deleted { break }
            }
            return updates
          }
        }
        try await waitForSubscribers(server, 1)
        _ = try await kq.set(.with { $0.key = "k"; $0.value = Data("v2") }, metadata: writer)
        _ = try await kq.delete(.with { $0.key = "k" }, metadata: writer)
        let updates = try await group.next()!
        #expect(updates.map(\.keyEvent) == [.noEvent, .updated, .deleted])
        #expect(updates.map(\.value) == [Data("v1"), Data("v2"), Data("v2")])
        #expect(updates[0].eventClientID == "keyquarry" && !updates[0].hasEventTimestamp)
        #expect(updates[1].version == 2 && updates[1].eventClientID == "writer")
      }
    }
  }

  @Test func subscriberLimitIsResourceExhausted() async throws {
    var options = TestServer.fastOptions
    options.eventStreamSubscriberLimit = 1
    try await TestServer.with(options: options) { server in
      let kq = server.keyquarry
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
          try await kq.watchStream(Keyquarry_WatchRequest(), metadata: TestServer.id("a")) { response in
            for try await _ in response.messages {}
          }
        }
        try await waitForSubscribers(server, 1)
        await expectRPCError(.resourceExhausted, containing: "subscriber limit reached: 1") {
          try await kq.watchKeyValue(.with { $0.key = "k" }, metadata: TestServer.id("b")) { response in
            for try await _ in response.messages {}
          }
        }
        server.store.endWatches()
        try await group.waitForAll()
      }
    }
  }

  @Test func endingWatchesAtShutdownClosesStreamsCleanly() async throws {
    try await TestServer.with { server in
      let kq = server.keyquarry
      try await withThrowingTaskGroup(of: Int.self) { group in
        group.addTask {
          try await kq.watchStream(Keyquarry_WatchRequest(), metadata: TestServer.id("a")) { response in
            var count = 0
            for try await _ in response.messages { count += 1 }
            return count
          }
        }
        try await waitForSubscribers(server, 1)
        server.store.endWatches()
        #expect(try await group.next() == 0, "the stream ends with status OK")
      }
    }
  }
}

/// Waits until the server has `count` watchers, so no event is published before they listen.
func waitForSubscribers(_ server: TestServer, _ count: Int) async throws {
  for _ in 0..<300 {
    if server.store.stats().eventSubscribers >= count { return }
    try await Task.sleep(for: .milliseconds(10))
  }
  Issue.record("watchers did not subscribe in time")
}
