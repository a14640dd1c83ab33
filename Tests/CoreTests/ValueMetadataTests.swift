import Foundation
import Testing

@testable import Core

@Suite struct ValueMetadataTests {
  @Test func fnvHashMatchesTheOriginal() {
    #expect(FNV1a.hash(data("bar")) == 16_101_355_973_854_746)
    #expect(FNV1a.hash(data("baz")) == 16_092_559_880_829_058)
    #expect(FNV1a.hash(data("foo")) == 15_902_901_984_413_996_407)
    #expect(FNV1a.hash(Data()) == 14_695_981_039_346_656_037)
  }

  @Test(arguments: [
    (Data("bar".utf8), "text/plain; charset=utf-8"),
    (Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]), "image/png"),
    (Data("  <html><body>hi".utf8), "text/html; charset=utf-8"),
    (Data("<?xml version=\"1.0\"?>".utf8), "text/xml; charset=utf-8"),
    (Data("%PDF-1.7".utf8), "application/pdf"),
    (Data("GIF89a....".utf8), "image/gif"),
    (Data([0xFF, 0xD8, 0xFF, 0xE0]), "image/jpeg"),
    (Data([0x1F, 0x8B, 0x08, 0x00]), "application/x-gzip"),
    (Data("PK\u{03}\u{04}rest".utf8), "application/zip"),
    (Data([0x00, 0x01, 0x00, 0x00, 0x05]), "font/ttf"),
    (Data([0x02, 0x03, 0x04]), "application/octet-stream"),
    (Data([0xEF, 0xBB, 0xBF, 0x41]), "text/plain; charset=utf-8"),
    (Data(), ""),
  ])
  func contentTypeIsSniffed(value: Data, expected: String) {
    #expect(ContentSniffer.contentType(of: value) == expected)
  }

  @Test func mp4IsRecognised() {
    var box = Data([0, 0, 0, 24])
    box += Data("ftypisom".utf8) + Data([0, 0, 2, 0]) + Data("isommp41".utf8)
    #expect(ContentSniffer.contentType(of: box) == "video/mp4")
  }

  @Test func goDurations() {
    #expect(DurationParser.parse("5s") == .seconds(5))
    #expect(DurationParser.parse("1m30s") == .seconds(90))
    #expect(DurationParser.parse("300ms") == .milliseconds(300))
    #expect(DurationParser.parse("1.5h") == .seconds(5400))
    #expect(DurationParser.parse("0") == .zero)
    #expect(DurationParser.parse("-2s") == .seconds(-2))
    #expect(DurationParser.parse("soon") == nil)
    #expect(DurationParser.parse("5") == nil)
    #expect(DurationParser.parse("") == nil)
    #expect(DurationParser.format(.seconds(90)) == "1m30s")
    #expect(DurationParser.format(.seconds(15 * 60)) == "15m0s")
    #expect(DurationParser.format(.milliseconds(500)) == "500ms")
    #expect(DurationParser.format(.zero) == "0s")
  }

  @Test func listenAddresses() throws {
    #expect(try ListenAddress("localhost:33969", defaultPort: 1) == .tcp(host: "localhost", port: 33969))
    #expect(try ListenAddress(":39969", defaultPort: 1) == .tcp(host: "0.0.0.0", port: 39969))
    #expect(try ListenAddress("example", defaultPort: 33969) == .tcp(host: "example", port: 33969))
    #expect(try ListenAddress("tcp://127.0.0.1:5", defaultPort: 1) == .tcp(host: "127.0.0.1", port: 5))
    #expect(try ListenAddress("[::1]:7", defaultPort: 1) == .tcp(host: "::1", port: 7))
    #expect(try ListenAddress("unix:///tmp/kq.sock", defaultPort: 1) == .unix(path: "/tmp/kq.sock"))
    #expect(throws: ListenAddress.ParseError.self) { try ListenAddress("unix://relative", defaultPort: 1) }
    #expect(throws: ListenAddress.ParseError.self) { try ListenAddress("host:99999", defaultPort: 1) }
    #expect(throws: ListenAddress.ParseError.self) { try ListenAddress("host:http", defaultPort: 1) }
  }

  @Test func clientIDsAndReservedKeys() throws {
    #expect(try ClientID.validate("me") == "me")
    expectError(.invalidArgument, containing: "missing") { _ = try ClientID.validate(nil) }
    expectError(.invalidArgument, containing: "empty") { _ = try ClientID.validate("") }
    expectError(.invalidArgument, containing: "reserved") { _ = try ClientID.validate("keyquarry") }
    for key in ["keyquarry/Started", "KeyQuarryX", "keyquarrying", "KEYQUARRY"] {
      #expect(ClientID.isReserved(key: key))
    }
    for key in ["keyquarr", "my-keyquarry", "", "kéyquarry"] {
      #expect(!ClientID.isReserved(key: key))
    }
  }
}
