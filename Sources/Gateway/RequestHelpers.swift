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

/// `type/subtype` of RFC 9110 token characters, optionally followed by printable ASCII parameters.
func isMediaType(_ text: String) -> Bool {
  let token: (Character) -> Bool = { $0.isASCII && ($0.isLetter || $0.isNumber || "!#$&^_.+-".contains($0)) }
  let parts = text.split(separator: ";", maxSplits: 1)
  guard let essence = parts.first, !text.isEmpty else { return false }
  let halves = essence.trimmingCharacters(in: .whitespaces).split(separator: "/", omittingEmptySubsequences: false)
  guard halves.count == 2, halves.allSatisfy({ !$0.isEmpty && $0.allSatisfy(token) }) else { return false }
  return parts.count == 1 || parts[1].allSatisfy { $0.isASCII && ($0 == " " || $0 == "\t" || !$0.isWhitespace) && !($0.asciiValue! < 0x20) }
}
