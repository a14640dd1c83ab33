import Core
import GRPCCore
import GRPCServer
import Foundation
import HTTPTypes
import Hummingbird
import KeyquarryProtos
import SwiftProtobuf

extension Gateway {
  func addKeyRoutes(to router: Router<GatewayContext>) {
    typealias Method = Keyquarry_KeyQuarry.Method

    // Set (raw): the body is the value, Content-Type its content type.
    router.route(.put, "/v1/keys/{key}", query: ["lifespan", "lock_duration"]) { request, context in
      var request = request
      var message = Keyquarry_KeyValue()
      message.key = try request.key(context)
      // curl -d sends a form content type by default: not a statement about the value.
      if let type = request.headers[.contentType], type != "application/x-www-form-urlencoded" {
        message.contentType = type
      }
      if let lifespan = try request.durationQuery("lifespan") { message.lifespan = lifespan }
      if let lock = try request.durationQuery("lock_duration") { message.lockDuration = lock }
      let response = try await settingValue {
        message.value = Data(bufferBytes: try await request.collectBody(upTo: store.options.maxValueSize))
        return try await call(request, context, Method.Set.descriptor) { [message] in
          try await service.set(request: message, context: $0)
        }
      }
      return try jsonResponse(response, status: response.isNew ? .created : .ok)
    }

    // Set (JSON): a KeyValue message.
    router.route(.post, "/v1/keys") { request, context in
      var request = request
      let message = try await request.message(Keyquarry_KeyValue.self, limit: jsonLimit)
      let response = try await settingValue {
        try await call(request, context, Method.Set.descriptor) {
          try await service.set(request: message, context: $0)
        }
      }
      return try jsonResponse(response, status: response.isNew ? .created : .ok)
    }

    // Get: the raw value, with its content type, version (ETag) and hash.
    router.route(.get, "/v1/keys/{key}") { request, context in
      let key = try request.key(context)
      let message = Keyquarry_InspectRequest.with {
        $0.key = key
        $0.includeValue = true
      }
      let info = try await call(request, context, Method.Inspect.descriptor) {
        try await service.inspect(request: message, context: $0)
      }
      return valueReply(info, ifNoneMatch: request.headers[.ifNoneMatch]).response
    }

    // Exists: status only.
    router.route(.head, "/v1/keys/{key}") { request, context in
      let key = try request.key(context)
      let message = Keyquarry_Key.with { $0.key = key }
      let response = try await call(request, context, Method.Exists.descriptor) {
        try await service.exists(request: message, context: $0)
      }
      return Response(status: response.exists ? .ok : .notFound)
    }

    router.route(.get, "/v1/keys/{key}/exists") { request, context in
      let key = try request.key(context)
      let message = Keyquarry_Key.with { $0.key = key }
      return try jsonResponse(
        try await call(request, context, Method.Exists.descriptor) {
          try await service.exists(request: message, context: $0)
        })
    }

    router.route(.get, "/v1/keys/{key}/info", query: ["include_value", "include_metrics"]) { request, context in
      var message = Keyquarry_InspectRequest()
      message.key = try request.key(context)
      message.includeValue = try request.boolQuery("include_value")
      message.includeMetrics = try request.boolQuery("include_metrics")
      return try jsonResponse(
        try await call(request, context, Method.Inspect.descriptor) { [message] in
          try await service.inspect(request: message, context: $0)
        })
    }

    router.route(.delete, "/v1/keys/{key}") { request, context in
      let key = try request.key(context)
      let message = Keyquarry_DeleteRequest.with { $0.key = key }
      return try jsonResponse(
        try await call(request, context, Method.Delete.descriptor) {
          try await service.delete(request: message, context: $0)
        })
    }

    // Pop: the raw value; the key is gone afterwards.
    router.route(.post, "/v1/keys/{key}/pop") { request, context in
      let key = try request.key(context)
      // The content type is read first (no access is recorded) so the value keeps it.
      let info = try await call(request, context, Method.Inspect.descriptor) {
        try await service.inspect(request: .with { $0.key = key }, context: $0)
      }
      let response = try await call(request, context, Method.Pop.descriptor) {
        try await service.pop(request: .with { $0.key = key }, context: $0)
      }
      return rawReply(response.value, contentType: info.contentType).response
    }

    // Lock: a LockRequest body without `key`, or query `duration` and `create_if_missing`.
    router.route(.post, "/v1/keys/{key}/lock", query: ["duration", "create_if_missing"]) { request, context in
      var request = request
      let key = try request.key(context)
      var message = try await request.message(Keyquarry_LockRequest.self, limit: 64 * 1024)
      if !message.key.isEmpty, message.key != key {
        throw GatewayError.invalid("the body names key '\(message.key)', the path '\(key)'")
      }
      message.key = key
      if let duration = try request.durationQuery("duration") { message.duration = duration }
      if request.query("create_if_missing") != nil { message.createIfMissing = try request.boolQuery("create_if_missing") }
      return try jsonResponse(
        try await call(request, context, Method.Lock.descriptor) { [message] in
          try await service.lock(request: message, context: $0)
        })
    }

    router.route(.post, "/v1/keys/{key}/unlock") { request, context in
      let key = try request.key(context)
      let message = Keyquarry_UnlockRequest.with { $0.key = key }
      return try jsonResponse(
        try await call(request, context, Method.Unlock.descriptor) {
          try await service.unlock(request: message, context: $0)
        })
    }

    // GetRevision: the raw value of a version, and when it was recorded.
    router.route(.get, "/v1/keys/{key}/revisions/{version}") { request, context in
      let key = try request.key(context)
      guard let version = context.parameters.get("version", as: Int64.self) else {
        throw GatewayError.invalid("version must be an integer")
      }
      let response = try await call(request, context, Method.GetRevision.descriptor) {
        try await service.getRevision(request: .with { $0.key = key; $0.version = version }, context: $0)
      }
      var headers: HTTPFields = [:]
      headers[.revisionTime] = response.timestamp.date.formatted(.iso8601)
      return rawReply(response.value, contentType: ContentSniffer.contentType(of: response.value), extra: headers)
        .response
    }

    router.route(.get, "/v1/keys/{key}/metrics") { request, context in
      let key = try request.key(context)
      let message = Keyquarry_KeyMetricRequest.with { $0.key = key }
      return try jsonResponse(
        try await call(request, context, Method.GetKeyMetric.descriptor) {
          try await service.getKeyMetric(request: message, context: $0)
        })
    }

    router.route(.get, "/v1/keys", query: ["pattern", "limit", "include_reserved"]) { request, context in
      var message = Keyquarry_ListKeysRequest()
      message.pattern = request.query("pattern") ?? ""
      if let limit = request.query("limit") {
        guard let value = UInt64(limit) else { throw GatewayError.invalid("invalid limit '\(limit)'") }
        message.limit = value
      }
      message.includeReserved = try request.boolQuery("include_reserved")
      return try jsonResponse(
        try await call(request, context, Method.ListKeys.descriptor) { [message] in
          try await service.listKeys(request: message, context: $0)
        })
    }
  }
}
