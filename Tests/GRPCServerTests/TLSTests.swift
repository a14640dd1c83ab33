import Core
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCServer
import KeyquarryProtos
import SwiftProtobuf
import Testing

@Suite struct TLSTests {
  /// A self-signed certificate for localhost / 127.0.0.1, made with openssl.
  static func makeCertificate() throws -> (TLSFiles, directory: URL) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kq-tls-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let cert = directory.appendingPathComponent("cert.pem").path
    let key = directory.appendingPathComponent("key.pem").path
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [
      "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "-keyout", key, "-out", cert,
    ]
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0, "openssl failed")
    return (TLSFiles(certificate: cert, key: key), directory)
  }

  @Test func servesOverTLSWhenGivenACertificateAndKey() async throws {
    let (files, _) = try Self.makeCertificate()
    let trusting = HTTP2ClientTransport.Posix.TransportSecurity.tls { config in
      config.trustRoots = .certificates([.file(path: files.certificate, format: .pem)])
    }
    try await TestServer.with(tls: files, clientSecurity: trusting) { server in
      let me = TestServer.id("me")
      _ = try await server.keyquarry.set(.with { $0.key = "secret"; $0.value = Data("v") }, metadata: me)
      #expect(try await server.keyquarry.get(.with { $0.key = "secret" }, metadata: me).value == Data("v"))
    }
  }

  @Test func aPlaintextClientCannotTalkToATLSServer() async throws {
    let (files, _) = try Self.makeCertificate()
    try await TestServer.with(tls: files, clientSecurity: .plaintext) { server in
      var options = CallOptions.defaults
      // Only a bound: the refused connection fails the call at once, but a loaded CI
      // machine once took longer than 3 s to get there.
      options.timeout = .seconds(20)
      await expectRPCError(.unavailable) {
        _ = try await server.keyquarry.exists(.with { $0.key = "k" }, metadata: TestServer.id("me"), options: options)
      }
    }
  }
}
