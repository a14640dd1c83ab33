import AsyncAlgorithms
import Core
import Foundation
import GRPCServer
import HTTPTypes
import Hummingbird
import KeyquarryProtos
import NIOCore
import SwiftProtobuf

/// One message of a watch stream, before it is framed as SSE or NDJSON.
struct StreamFrame: Sendable {
  let id: UInt64?
  let event: String
  let json: String

  static let reset = StreamFrame(id: nil, event: "RESET", json: "{\"event\":\"RESET\"}")

  var sse: ByteBuffer {
    ByteBuffer(string: (id.map { "id: \($0)\n" } ?? "") + "event: \(event)\ndata: \(json)\n\n")
  }

  var ndjson: ByteBuffer { ByteBuffer(string: json + "\n") }
}

extension Gateway {
  func addStreamRoutes(to router: Router<GatewayContext>) {
    // WatchStream as Server-Sent Events (or NDJSON), resumable with Last-Event-ID.
    router.route(.get, "/v1/events", query: EventsRequest.queryParameters) { request, context in
      let asked = try EventsRequest(
        uri: request.uri, header: { HTTPField.Name($0).flatMap { request.headers[$0] } }, peer: context.peer)
      let watch = try store.watch(asked.filter, resumingAfter: asked.lastEventID)
      let frames = watch.map { @Sendable item -> StreamFrame in
        switch item {
        case .reset: return .reset
        case .event(let event):
          var encoded = EncodedEvent(event)
          return StreamFrame(event, json: encoded.json())
        }
      }
      return streamResponse(request, frames: frames, subscription: watch.subscription)
    }

    // WatchKeyValue: the current value at once, then every change.
    router.route(.get, "/v1/keys/{key}/watch") { request, context in
      let watch = try store.watchValue(try request.key(context), by: try request.caller(context))
      let frames = watch.map { @Sendable update -> StreamFrame in
        let json = (try? Keyquarry_WatchKeyValueResponse(update).jsonString()) ?? "{}"
        return StreamFrame(id: update.sequence, event: update.kind.name, json: json)
      }
      return streamResponse(request, frames: frames, subscription: watch.subscription)
    }
  }

  /// Streams frames until the watch ends (shutdown, slow consumer) or the client leaves.
  /// SSE gets `retry:` first and a `: keepalive` comment every `sse_heartbeat`.
  func streamResponse(
    _ request: Request, frames: some AsyncSequence<StreamFrame, Never> & Sendable, subscription: Subscription
  ) -> Response {
    let ndjson = EventsRequest.wantsNDJSON(accept: request.headers[.accept])
    let heartbeat = options.sseHeartbeat
    var headers: HTTPFields = [.cacheControl: "no-cache"]
    headers[.contentType] = ndjson ? "application/x-ndjson" : "text/event-stream"
    let body = ResponseBody { writer in
      defer { subscription.finish() }
      if !ndjson { try await writer.write(ByteBuffer(string: "retry: 2000\n\n")) }
      // One channel with back-pressure: a slow client backs up into the watch's own
      // bounded buffer, where the slow-consumer rule applies.
      let channel = AsyncChannel<ByteBuffer>()
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
          for await frame in frames { await channel.send(ndjson ? frame.ndjson : frame.sse) }
          channel.finish()
        }
        if !ndjson {
          group.addTask {
            while true {
              try await Task.sleep(for: heartbeat)
              await channel.send(ByteBuffer(string: ": keepalive\n\n"))
            }
          }
        }
        for await buffer in channel { try await writer.write(buffer) }
        group.cancelAll()
      }
      try await writer.finish(nil)
    }
    return Response(status: .ok, headers: headers, body: body)
  }
}

extension StreamFrame {
  init(_ event: Event, json: String) { self.init(id: event.sequence, event: event.kind.name, json: json) }
}
