import Core
import Foundation
import GRPCCore
import GRPCServer
import HTTPTypes
import Hummingbird
import NIOCore
import SwiftProtobuf

extension HTTPField.Name {
  static let clientID = Self("Client-Id")!
  static let lastEventID = Self("Last-Event-ID")!
  static let keyquarryVersion = Self("X-Keyquarry-Version")!
  static let keyquarryHash = Self("X-Keyquarry-Hash")!
  static let revisionTime = Self("X-Keyquarry-Revision-Time")!
}

extension Request {
  /// The caller: header `Client-Id`, else query `client_id` (for EventSource), else
  /// `anonymous@<peer IP>`. A given id is validated as gRPC does.
  func caller(_ context: GatewayContext) throws -> String {
    if let given = headers[.clientID] ?? uri.queryParameters.get("client_id") {
      return try ClientID.validate(given)
    }
    return "anonymous@\(context.peer)"
  }

  /// The percent-decoded `{key}` path parameter: any key gRPC accepts is reachable.
  func key(_ context: GatewayContext) throws -> String {
    let raw = try context.parameters.require("key")
    guard raw.utf8.contains(UInt8(ascii: "%")) else { return raw }
    guard let key = raw.removingPercentEncoding else { throw GatewayError.invalid("bad percent-encoding in key") }
    return key
  }

  func query(_ name: String) -> String? {
    uri.queryParameters.get(name)
  }

  /// All values of a query parameter, repeated (`?keys=a&keys=b`) or comma separated.
  func queryList(_ name: String) -> [String] {
    uri.queryParameters.getAll(name).flatMap { $0.split(separator: ",").map(String.init) }
  }

  func boolQuery(_ name: String) throws -> Bool {
    guard let text = query(name) else { return false }
    switch text.lowercased() {
    case "", "1", "true", "yes": return true
    case "0", "false", "no": return false
    default: throw GatewayError.invalid("invalid \(name) '\(text)': expected true or false")
    }
  }

  func durationQuery(_ name: String) throws -> Google_Protobuf_Duration? {
    guard let text = query(name) else { return nil }
    guard let duration = DurationParser.parse(text) else {
      throw GatewayError.invalid("invalid \(name) '\(text)': expected a duration like 30s or 1m30s")
    }
    return Google_Protobuf_Duration(rounding: duration)
  }

  /// A proto3 JSON body (either field spelling); unknown fields are rejected.
  mutating func message<M: SwiftProtobuf.Message>(_ type: M.Type, limit: Int) async throws -> M {
    let body = try await collectBody(upTo: limit)
    if body.readableBytes == 0 { return M() }
    do {
      return try M(jsonUTF8Bytes: Data(bufferBytes: body))
    } catch {
      throw GatewayError.invalid("invalid JSON body for \(M.protoMessageName): \(error)")
    }
  }
}

/// A proto3 canonical JSON response.
func jsonResponse(_ message: some SwiftProtobuf.Message, status: HTTPResponse.Status = .ok) throws -> Response {
  Response(
    status: status, headers: [.contentType: "application/json"],
    body: .init(byteBuffer: ByteBuffer(bytes: try message.jsonUTF8Bytes() as [UInt8])))
}

/// A stored value's raw bytes with its content type. A content type that is not a valid
/// media type (gRPC clients may store any string) is sent as application/octet-stream.
func rawResponse(_ value: Data, contentType: String, extra: HTTPFields = [:]) -> Response {
  var headers = extra
  headers[.contentType] = isMediaType(contentType) ? contentType : "application/octet-stream"
  return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: value)))
}

extension Data {
  init(bufferBytes buffer: ByteBuffer) { self.init(buffer.readableBytesView) }
}

/// `type/subtype` of RFC 9110 token characters, optionally followed by `;` and printable
/// ASCII parameters. Runs on every raw GET, so it reads bytes and allocates nothing.
func isMediaType(_ text: String) -> Bool {
  func isToken(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
      true
    default:
      "!#$&^_.+-".utf8.contains(byte)
    }
  }
  var utf8 = text.utf8[...]
  // Optional whitespace around the essence, as before: " text/plain" is accepted.
  while utf8.first == UInt8(ascii: " ") || utf8.first == UInt8(ascii: "\t") { utf8.removeFirst() }
  let essenceEnd = utf8.firstIndex(of: UInt8(ascii: ";")) ?? utf8.endIndex
  var essence = utf8[..<essenceEnd]
  while essence.last == UInt8(ascii: " ") || essence.last == UInt8(ascii: "\t") { essence.removeLast() }
  guard let slash = essence.firstIndex(of: UInt8(ascii: "/")) else { return false }
  let type = essence[..<slash]
  let subtype = essence[essence.index(after: slash)...]
  guard !type.isEmpty, !subtype.isEmpty, type.allSatisfy(isToken), subtype.allSatisfy(isToken) else { return false }
  return utf8[essenceEnd...].allSatisfy { $0 == UInt8(ascii: "\t") || (0x20..<0x7F).contains($0) }
}
