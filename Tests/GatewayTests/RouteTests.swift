import Core
import AsyncHTTPClient
import Foundation
import NIOHTTP1
import Synchronization
import Testing

@Suite struct RouteTests {
  @Test func rawValuesWithContentTypeETagAndHeaders() async throws {
    try await TestGateway.with { gw in
      let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0xFF, 0xFE])
      var reply = try await gw.send(.PUT, "/v1/keys/img", body: png, headers: [("Content-Type", "image/png")])
      #expect(reply.status == 201)
      #expect(reply.text == "{\"success\":true,\"isNew\":true}")
      #expect(reply.header("Content-Type") == "application/json")
      reply = try await gw.send(.GET, "/v1/keys/img")
      #expect(reply.status == 200)
      #expect(reply.body == png)
      #expect(reply.header("Content-Type") == "image/png")
      #expect(reply.header("ETag") == "\"1\"")
      #expect(reply.header("X-Keyquarry-Version") == "1")
      #expect(reply.header("X-Keyquarry-Hash") != nil)
      #expect(try await gw.send(.GET, "/v1/keys/img", headers: [("If-None-Match", "\"1\"")]).status == 304)

      reply = try await gw.send(.PUT, "/v1/keys/img", body: Data("text now"))
      #expect(reply.status == 200)
      #expect(reply.text == "{\"success\":true}")
      reply = try await gw.send(.GET, "/v1/keys/img")
      #expect(reply.header("ETag") == "\"2\"")
      #expect(reply.header("Content-Type") == "text/plain; charset=utf-8", "re-inferred on change")
      _ = try gw.store.set("odd", value: Data("x"), contentType: "not a media type ©", by: "grpc-client")
      #expect(try await gw.send(.GET, "/v1/keys/odd").header("Content-Type") == "application/octet-stream")
      reply = try await gw.send(.GET, "/v1/keys/img/revisions/1")
      #expect(reply.body == png)
      #expect(reply.header("Content-Type") == "image/png")
      #expect(reply.header("X-Keyquarry-Revision-Time") != nil)
      #expect(try await gw.send(.GET, "/v1/keys/img/revisions/-1").body == png)
    }
  }

  @Test(arguments: ["a/b", "with space", "ünï©ødé/ключ", "100%", "q?x=1#frag"])
  func percentEncodedKeysAreReachable(key: String) async throws {
    try await TestGateway.with { gw in
      let path = "/v1/keys/" + key.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
      let created = try await gw.send(.PUT, path, body: Data("v"))
      #expect(created.status == 201)
      #expect(try await gw.send(.GET, path).text == "v")
      #expect(try await gw.send(.GET, path + "/info").json["key"] as? String == key)
      #expect(try gw.store.get(key, by: "test") == Data("v"))
      #expect(try await gw.send(.HEAD, path).status == 200)
      #expect(try await gw.send(.DELETE, path).text == "{\"deleted\":true}")
      #expect(try await gw.send(.HEAD, path).status == 404)
    }
  }

  @Test func everyKeyRoute() async throws {
    try await TestGateway.with { gw in
      let json = Data(#"{"key":"j","value":"aGk=","content_type":"text/x-greeting","lifespan":"60s"}"#)
      var reply = try await gw.send(.POST, "/v1/keys", body: json)
      #expect(reply.status == 201)
      reply = try await gw.send(.GET, "/v1/keys/j/info?include_value=true&include_metrics=true")
      #expect(reply.json["value"] as? String == "aGk=")
      #expect(reply.json["contentType"] as? String == "text/x-greeting")
      #expect(reply.json["lifespan"] as? String == "60s")
      #expect((reply.json["metrics"] as? [String: Any])?["setCount"] as? String == "1")
      #expect(try await gw.send(.GET, "/v1/keys/j/exists").text == "{\"exists\":true}")
      #expect(try await gw.send(.GET, "/v1/keys/zz/exists").text == "{}")

      reply = try await gw.send(.POST, "/v1/keys/j/lock?duration=30s", headers: [("Client-Id", "alice")])
      #expect(reply.text == "{\"success\":true}")
      reply = try await gw.send(.PUT, "/v1/keys/j", body: Data("x"), headers: [("Client-Id", "bob")])
      #expect(reply.status == 403)
      #expect(reply.json["code"] as? Int == 7)
      #expect((reply.json["message"] as? String)?.contains("key is locked") == true)
      reply = try await gw.send(.POST, "/v1/keys/j/unlock", headers: [("Client-Id", "alice")])
      #expect(reply.text == "{\"success\":true}")
      reply = try await gw.send(
        .POST, "/v1/keys/new/lock", body: Data(#"{"duration":"10s","createIfMissing":true}"#))
      #expect(reply.status == 200)

      reply = try await gw.send(.POST, "/v1/keys/j/pop")
      #expect(reply.text == "hi")
      #expect(reply.header("Content-Type") == "text/x-greeting")
      #expect(try await gw.send(.GET, "/v1/keys/j").status == 404)
      #expect(try await gw.send(.GET, "/v1/keys/j/metrics").json["accessCount"] as? String == "2")

      for key in ["b", "a", "c"] { _ = try await gw.send(.PUT, "/v1/keys/\(key)", body: Data(key)) }
      #expect(try await gw.send(.GET, "/v1/keys").text == "{\"keys\":[\"a\",\"b\",\"c\",\"new\"]}")
      #expect(try await gw.send(.GET, "/v1/keys?pattern=%5E%5Bab%5D&limit=1").text == "{\"keys\":[\"a\"]}")
      #expect((try await gw.send(.GET, "/v1/keys?include_reserved=true").json["keys"] as? [String])?.count == 20)
    }
  }

  @Test func serverAndAdminRoutes() async throws {
    try await TestGateway.with { gw in
      _ = try await gw.send(.PUT, "/v1/keys/a", body: Data("1"))
      _ = try await gw.send(.PUT, "/v1/keys/a", body: Data("2"))
      #expect(try await gw.send(.GET, "/v1/stats").json["keys"] as? String == "1")
      #expect(try await gw.send(.POST, "/v1/history/clear").json["cleared"] as? String == "2")
      var reply = try await gw.send(.POST, "/v1/register", headers: [("Client-Id", "me")])
      #expect(reply.text == "{\"success\":true,\"clientId\":\"me\"}")
      reply = try await gw.send(.POST, "/v1/register", headers: [("Client-Id", "me")])
      #expect(reply.status == 409)
      reply = try await gw.send(.POST, "/v1/readonly?enable=true", headers: [("Client-Id", "admin")])
      #expect(reply.text == "{\"success\":true}")
      reply = try await gw.send(.PUT, "/v1/keys/b", body: Data("1"))
      #expect(reply.status == 412)
      reply = try await gw.send(.POST, "/v1/readonly", body: Data(#"{"enable":false}"#), headers: [("Client-Id", "admin")])
      #expect(reply.status == 200)
      #expect(try await gw.send(.POST, "/v1/clear?force=true").text == "{\"success\":true,\"keysDeleted\":\"1\"}")
      _ = try await gw.send(.PUT, "/v1/keys/x", body: Data("1"))
      reply = try await gw.send(.POST, "/v1/admin/prune", body: Data(#"{"pruneTo":"0"}"#))
      #expect(reply.status == 403)
      reply = try await gw.send(.POST, "/v1/admin/prune", body: Data(#"{"prune_to":0}"#), headers: [("Client-Id", "admin")])
      #expect(reply.text == "{\"pruned\":\"1\"}")
      reply = try await gw.send(.POST, "/v1/admin/shutdown", headers: [("Client-Id", "admin")])
      #expect(reply.text == "{}")
      #expect(gw.shutdowns.count.withLock { $0 } == 1)
    }
  }

  @Test func healthOpenAPIAndUI() async throws {
    try await TestGateway.with { gw in
      #expect(try await gw.send(.GET, "/healthz").status == 200)
      let spec = try await gw.send(.GET, "/openapi.yaml")
      #expect(spec.status == 200)
      let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
      let onDisk = try Data(contentsOf: root.appendingPathComponent("openapi/keyquarry.yaml"))
      #expect(spec.body == onDisk, "run scripts/embed-resources.py after editing openapi/ or web-examples/")
      let page = try await gw.send(.GET, "/ui/")
      #expect(page.status == 200)
      #expect(page.header("Content-Type") == "text/html; charset=utf-8")
      let pageOnDisk = try Data(contentsOf: root.appendingPathComponent("web-examples/index.html"))
      #expect(page.body == pageOnDisk)
      #expect(try await gw.send(.GET, "/ui/missing.js").status == 404)
    }
  }
}
