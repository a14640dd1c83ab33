import Core
import Foundation
import Logging
import ServiceLifecycle

/// `log_events`: one log line per event, at level EVENT.
struct EventLog: Service {
  let store: Store
  let logger: Logger

  func run() async throws {
    let events = try store.observe().events
    for await event in events {
      logger.notice(
        "\(Self.message(event.kind))",
        metadata: [
          "key": "\(event.key)", "event": "\(event.kind.name)", "client_id": "\(event.clientID)",
          "event_time": "\(event.time.formatted(.iso8601))", "seq": "\(event.sequence)",
        ])
    }
    // The stream ended because shutdown closed the store's watches; a service may only
    // return once the group asks it to.
    try await gracefulShutdown()
  }

  static func message(_ kind: KeyEvent) -> String {
    switch kind {
    case .noEvent: "no event"
    case .created: "created new key"
    case .updated: "updated key"
    case .deleted: "deleted key"
    case .expired: "expired key"
    case .locked: "locked key"
    case .unlocked: "unlocked key"
    case .expunged: "expunged key"
    case .accessed: "accessed key"
    case .lifespanSet: "lifespan set"
    case .lifespanRenewed: "lifespan renewed"
    }
  }
}
