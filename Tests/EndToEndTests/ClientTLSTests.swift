import Foundation
import Testing

/// `keyquarry client` over TLS: an IP address is checked against the certificate's IP
/// addresses, `--tls-server-name` names another host, and every failure says it is TLS's
/// and why.
@Suite struct ClientTLSTests {
  /// A self-signed certificate (its own CA) with these subject alternative names.
  private func certificate(_ names: String, in directory: URL, as name: String) throws -> (cert: String, key: String) {
    let cert = directory.appendingPathComponent("\(name).pem").path
    let key = directory.appendingPathComponent("\(name).key").path
    let openssl = Process()
    openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    openssl.arguments = [
      "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
      "-subj", "/CN=\(name)", "-addext", "subjectAltName=\(names)", "-keyout", key, "-out", cert,
    ]
    openssl.standardError = FileHandle.nullDevice
    try openssl.run()
    openssl.waitUntilExit()
    #expect(openssl.terminationStatus == 0, "openssl failed")
    return (cert, key)
  }

  private func tlsServer(_ files: (cert: String, key: String), in directory: URL) async throws -> ServerProcess {
    let server = try ServerProcess(
      ["--listen", "127.0.0.1:0", "--ssl-certfile", files.cert, "--ssl-keyfile", files.key], directory: directory)
    try await server.waitUntilListening()
    return server
  }

  @Test func anIPAddressIsVerifiedAgainstTheCertificatesIPAddresses() async throws {
    let directory = try makeTemporaryDirectory()
    let byIP = try certificate("IP:127.0.0.1", in: directory, as: "by-ip")
    let server = try await tlsServer(byIP, in: directory)
    let set = try await runKeyquarry(["client", "--address", server.address, "--ca-certfile", byIP.cert, "set", "k", "v"])
    #expect(set.status == 0, "\(set.stderr)")
    // The address from the environment, as every client option can be.
    let get = try await runKeyquarry(
      ["client", "get", "k"], environment: ["KEYQUARRY_ADDRESS": server.address, "KEYQUARRY_CA_CERTFILE": byIP.cert])
    #expect(get.status == 0 && get.text == "v", "\(get.stderr)")
    #expect(try await server.terminate() == 0)
  }

  @Test func everyTLSFailureSaysTLSAndWhy() async throws {
    let directory = try makeTemporaryDirectory()
    let byName = try certificate("DNS:kq.test", in: directory, as: "by-name")
    let stranger = try certificate("IP:127.0.0.1", in: directory, as: "stranger")
    let server = try await tlsServer(byName, in: directory)
    let port = server.address.split(separator: ":").last!

    let mismatch = try await runKeyquarry(["client", "--address", server.address, "--ca-certfile", byName.cert, "exists", "k"])
    #expect(mismatch.status == 1)
    #expect(mismatch.stderr.contains("TLS failed: the server's certificate is not for '127.0.0.1'"), "\(mismatch.stderr)")

    let named = try await runKeyquarry([
      "client", "--address", "localhost:\(port)", "--ca-certfile", byName.cert, "--tls-server-name", "kq.test",
      "set", "k", "v",
    ])
    #expect(named.status == 0, "\(named.stderr)")

    let unknownCA = try await runKeyquarry(["client", "--address", server.address, "--ca-certfile", stranger.cert, "exists", "k"])
    #expect(unknownCA.status == 1)
    #expect(unknownCA.stderr.contains("TLS failed: the server's certificate is signed by a CA that is not trusted"), "\(unknownCA.stderr)")

    let plaintext = try await runKeyquarry(["client", "--address", server.address, "exists", "k"])
    #expect(plaintext.status == 1)
    #expect(plaintext.stderr.contains("Does the server use TLS?"), "\(plaintext.stderr)")
    #expect(try await server.terminate() == 0)

    let plain = try ServerProcess(directory: directory)
    try await plain.waitUntilListening()
    let tlsToPlain = try await runKeyquarry(["client", "--address", plain.address, "--ca-certfile", byName.cert, "exists", "k"])
    #expect(tlsToPlain.status == 1)
    #expect(tlsToPlain.stderr.contains("TLS failed: the server did not answer in TLS"), "\(tlsToPlain.stderr)")
    #expect(try await plain.terminate() == 0)
  }
}
