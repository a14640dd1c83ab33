import Core
import Foundation
import GRPCServer
import NIOHTTP1
import Testing

@Suite struct TransportTests {
  @Test func gatewayOverAUnixSocket() async throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("kq-gw-\(UUID().uuidString.prefix(8)).sock").path
    try await TestGateway.with(address: .unix(path: path)) { gw in
      #expect(try await gw.send(.PUT, "/v1/keys/k", body: Data("v")).status == 201)
      let reply = try await gw.send(.GET, "/v1/keys/k")
      #expect(reply.text == "v")
      #expect(try await gw.send(.GET, "/v1/stats").json["keys"] as? String == "1")
    }
    #expect(!FileManager.default.fileExists(atPath: path), "the socket file is removed on shutdown")
  }

  @Test func gatewayOverTLSWithTheGRPCCertificate() async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kq-gw-tls-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let files = TLSFiles(
      certificate: directory.appendingPathComponent("cert.pem").path, key: directory.appendingPathComponent("key.pem").path)
    let openssl = Process()
    openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    openssl.arguments = [
      "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
      "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "-keyout", files.key, "-out", files.certificate,
    ]
    openssl.standardError = FileHandle.nullDevice
    try openssl.run()
    openssl.waitUntilExit()
    try await TestGateway.with(tls: files) { gw in
      #expect(gw.base.hasPrefix("https://"))
      #expect(try await gw.send(.PUT, "/v1/keys/secret", body: Data("v")).status == 201)
      let reply = try await gw.send(.GET, "/v1/keys/secret")
      #expect(reply.text == "v")
    }
  }
}
