import Core
import AsyncHTTPClient
import Foundation
import Gateway
import NIOHTTP1
import Testing

@Suite struct ErrorTests {
  @Test func badInputGetsTheRightStatusAndNothingIsStored() async throws {
    try await TestGateway.with(options: { $0.maxValueSize = 16; $0.maxKeys = 3 }) { gw in
      struct Case {
        let method: HTTPMethod
        let path: String
        let body: Data?
        let headers: [(String, String)]
        let status: Int
        let code: Int
        init(_ method: HTTPMethod, _ path: String, _ body: Data?, _ headers: [(String, String)], _ status: Int, _ code: Int) {
          (self.method, self.path, self.body, self.headers, self.status, self.code) = (method, path, body, headers, status, code)
        }
      }
      let cases: [Case] = [
        Case(.POST, "/v1/keys", Data("{not json"), [], 400, 3),
        Case(.POST, "/v1/keys", Data(#"{"key":"k","bogus":true}"#), [], 400, 3),
        Case(.POST, "/v1/keys", Data(#"{"key":"k","value":"!!notbase64"}"#), [], 400, 3),
        Case(.PUT, "/v1/keys/k?lifespan=soon", Data("v"), [], 400, 3),
        Case(.PUT, "/v1/keys/k?lock_duration=-5s", Data("v"), [], 400, 11),
        Case(.PUT, "/v1/keys/k", Data(repeating: 1, count: 17), [], 413, 9),
        Case(.POST, "/v1/keys", Data(#"{"key":"k","value":"AQEBAQEBAQEBAQEBAQEBAQE="}"#), [], 413, 9),
        Case(.PUT, "/v1/keys/k?ttl=10s", Data("v"), [], 400, 3),
        Case(.PUT, "/v1/keys/keyquarry%2Fx", Data("v"), [], 400, 3),
        Case(.PUT, "/v1/keys/k", Data("v"), [("Client-Id", "")], 400, 3),
        Case(.PUT, "/v1/keys/k", Data("v"), [("Client-Id", "keyquarry")], 400, 3),
        Case(.PUT, "/v1/keys/k?client_id=", Data("v"), [], 400, 3),
        Case(.GET, "/v1/keys?pattern=%28", nil, [], 400, 3),
        Case(.GET, "/v1/keys?limit=lots", nil, [], 400, 3),
        Case(.GET, "/v1/keys/k/revisions/zero", nil, [], 400, 3),
        Case(.GET, "/v1/keys/k/revisions/0", nil, [], 400, 3),
        Case(.GET, "/v1/events?events=SOMETIMES", nil, [], 400, 3),
        Case(.POST, "/v1/keys/k/lock", Data(#"{"duration":"10s"}"#), [], 404, 5),
        Case(.POST, "/v1/keys/k/lock", nil, [], 400, 11),
        Case(.POST, "/v1/readonly?enable=true", nil, [], 403, 7),
        Case(.GET, "/v1/nothing/here", nil, [], 404, 5),
        Case(.POST, "/v1/admin/snapshot", nil, [("Client-Id", "admin")], 412, 9),
        Case(.POST, "/v1/admin/snapshot", nil, [], 403, 7),
      ]
      for item in cases {
        let (method, path, status, code) = (item.method, item.path, item.status, item.code)
        let reply = try await gw.send(method, path, body: item.body, headers: item.headers)
        #expect(reply.status == status, "\(method) \(path): \(reply.text)")
        #expect(reply.json["code"] as? Int == code, "\(method) \(path): \(reply.text)")
        #expect(reply.json["message"] is String && reply.json["details"] is [Any], "\(reply.text)")
        if status == 413 { #expect(reply.text.contains("max_value_size (16 bytes)"), "\(reply.text)") }
      }
      #expect(try gw.store.listKeys().isEmpty)
      #expect(gw.store.stats().totalSize == 0)

      for key in ["a", "b", "c"] { _ = try await gw.send(.PUT, "/v1/keys/\(key)", body: Data("v")) }
      let full = try await gw.send(.PUT, "/v1/keys/d", body: Data("v"))
      #expect(full.status == 429)
      #expect(full.json["code"] as? Int == 8)
    }
  }

  @Test func corsForConfiguredOriginsOnly() async throws {
    try await TestGateway.with(gateway: { $0.corsOrigins = ["https://app.example"] }) { gw in
      var reply = try await gw.send(
        .OPTIONS, "/v1/keys/k",
        headers: [("Origin", "https://app.example"), ("Access-Control-Request-Method", "PUT")])
      #expect(reply.status == 204)
      #expect(reply.header("Access-Control-Allow-Origin") == "https://app.example")
      #expect(reply.header("Access-Control-Allow-Methods")?.contains("PUT") == true)
      #expect(reply.header("Access-Control-Allow-Headers")?.contains("Client-Id") == true)
      _ = try await gw.send(.PUT, "/v1/keys/k", body: Data("v"))
      reply = try await gw.send(.GET, "/v1/keys/k", headers: [("Origin", "https://app.example")])
      #expect(reply.header("Access-Control-Allow-Origin") == "https://app.example")
      #expect(reply.header("Access-Control-Expose-Headers")?.contains("ETag") == true)
      reply = try await gw.send(.GET, "/v1/keys/k", headers: [("Origin", "https://evil.example")])
      #expect(reply.header("Access-Control-Allow-Origin") == nil)
    }
    try await TestGateway.with { gw in
      let reply = try await gw.send(.GET, "/v1/stats", headers: [("Origin", "https://app.example")])
      #expect(reply.header("Access-Control-Allow-Origin") == nil, "no CORS headers unless configured")
    }
  }
}
