import Core
import Foundation
import GRPCCore
import GRPCServer
import HTTPTypes
import KeyquarryProtos
import Hummingbird
import NIOCore
import SwiftProtobuf

extension HTTPField.Name {
  static let clientID = Self("Client-Id")!
  static let keyquarryVersion = Self("X-Keyquarry-Version")!
  static let keyquarryHash = Self("X-Keyquarry-Hash")!
  static let revisionTime = Self("X-Keyquarry-Revision-Time")!
}

extension Request {
  /// The caller: header `Client-Id`, else query `client_id` (for EventSource), else
  /// `anonymous@<peer IP>`. A given id is validated as gRPC does.
  func caller(_ context: GatewayContext) throws -> String {
    try gatewayCaller(given: headers[.clientID] ?? uri.queryParameters.get("client_id"), peer: context.peer)
  }

  /// The percent-decoded `{key}` path parameter: any key gRPC accepts is reachable.
  func key(_ context: GatewayContext) throws -> String {
    try decodeKey(try context.parameters.require("key"))
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

/// A caller's validated client id, or `anonymous@<peer>` when none is given.
func gatewayCaller(given: String?, peer: @autoclosure () -> String) throws -> String {
  if let given { return try ClientID.validate(given) }
  return "anonymous@\(peer())"
}

/// A key as it appears, percent-encoded, in a path.
func decodeKey(_ raw: some StringProtocol) throws -> String {
  guard raw.utf8.contains(UInt8(ascii: "%")) else { return String(raw) }
  guard let key = raw.removingPercentEncoding else { throw GatewayError.invalid("bad percent-encoding in key") }
  return key
}

/// A response whose body is in memory: what the routes return, and what
/// `DirectGetHandler` writes without Hummingbird.
struct Reply {
  var status: HTTPResponse.Status = .ok
  var headers: HTTPFields = [:]
  var body = ByteBuffer()

  var response: Response { Response(status: status, headers: headers, body: .init(byteBuffer: body)) }
}

/// A Get's answer: the value with its content type, version (ETag) and hash, or 304
/// when the caller already has that version.
func valueReply(_ info: Keyquarry_InspectResponse, ifNoneMatch: String?) -> Reply {
  let etag = "\"\(info.version)\""
  let headers: HTTPFields = [.eTag: etag, .keyquarryVersion: "\(info.version)", .keyquarryHash: "\(info.hash)"]
  if ifNoneMatch == etag { return Reply(status: .notModified, headers: headers) }
  return rawReply(info.value, contentType: info.contentType, extra: headers)
}

/// A proto3 canonical JSON response.
func jsonResponse(_ message: some SwiftProtobuf.Message, status: HTTPResponse.Status = .ok) throws -> Response {
  Response(
    status: status, headers: [.contentType: "application/json"],
    body: .init(byteBuffer: ByteBuffer(bytes: try message.jsonUTF8Bytes() as [UInt8])))
}

/// A stored value's raw bytes with its content type. A content type that is not a valid
/// media type (gRPC clients may store any string) is sent as application/octet-stream.
func rawReply(_ value: Data, contentType: String, extra: HTTPFields = [:]) -> Reply {
  var headers = extra
  headers.append(HTTPField(name: .contentType, value: isMediaType(contentType) ? contentType : "application/octet-stream"))
  return Reply(headers: headers, body: ByteBuffer(bytes: value))
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
