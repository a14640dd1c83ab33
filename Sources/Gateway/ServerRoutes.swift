import Core
import GRPCCore
import GRPCServer
import Foundation
import Hummingbird
import KeyquarryProtos
import SwiftProtobuf

extension Gateway {
  func addServerRoutes(to router: Router<GatewayContext>) {
    typealias Method = Keyquarry_KeyQuarry.Method

    router.route(.post, "/v1/register") { request, context in
      try jsonResponse(
        try await call(request, context, Method.Register.descriptor) {
          try await service.register(request: Keyquarry_RegisterRequest(), context: $0)
        })
    }

    router.route(.post, "/v1/clear", query: ["force"]) { request, context in
      let force = try request.boolQuery("force")
      let message = Keyquarry_ClearRequest.with { $0.force = force }
      return try jsonResponse(
        try await call(request, context, Method.Clear.descriptor) {
          try await service.clear(request: message, context: $0)
        })
    }

    router.route(.post, "/v1/history/clear") { request, context in
      try jsonResponse(
        try await call(request, context, Method.ClearHistory.descriptor) {
          try await service.clearHistory(request: Keyquarry_EmptyRequest(), context: $0)
        })
    }

    router.route(.get, "/v1/stats") { request, context in
      try jsonResponse(
        try await call(request, context, Method.Stats.descriptor) {
          try await service.stats(request: Keyquarry_EmptyRequest(), context: $0)
        })
    }

    // SetReadOnly: a ReadOnlyRequest body or query `enable`.
    router.route(.post, "/v1/readonly", query: ["enable"]) { request, context in
      var request = request
      var message = try await request.message(Keyquarry_ReadOnlyRequest.self, limit: 64 * 1024)
      if request.query("enable") != nil { message.enable = try request.boolQuery("enable") }
      return try jsonResponse(
        try await call(request, context, Method.SetReadOnly.descriptor) { [message] in
          try await service.setReadOnly(request: message, context: $0)
        })
    }

    router.route(.post, "/v1/admin/prune") { request, context in
      var request = request
      let message = try await request.message(Keyquarry_PruneRequest.self, limit: 1024 * 1024)
      return try jsonResponse(
        try await call(request, context, Keyquarry_Admin.Method.Prune.descriptor) {
          try await admin.prune(request: message, context: $0)
        })
    }

    router.route(.post, "/v1/admin/snapshot") { request, context in
      try jsonResponse(
        try await call(request, context, Keyquarry_Admin.Method.Snapshot.descriptor) {
          try await admin.snapshot(request: Keyquarry_SnapshotRequest(), context: $0)
        })
    }

    router.route(.post, "/v1/admin/shutdown") { request, context in
      try jsonResponse(
        try await call(request, context, Keyquarry_Admin.Method.Shutdown.descriptor) {
          try await admin.shutdown(request: Keyquarry_ShutdownRequest(), context: $0)
        })
    }
  }
}
