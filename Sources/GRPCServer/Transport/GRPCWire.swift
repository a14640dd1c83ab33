import Foundation
import GRPCCore
import NIOCore
import NIOHPACK

/// gRPC over HTTP/2 (the PROTOCOL-HTTP2 document): what request headers must hold and how
/// metadata, responses and statuses become headers.
enum GRPCWire {
  static let responseHeaders: HPACKHeaders = [
    ":status": "200", "content-type": "application/grpc", "grpc-accept-encoding": MessageEncoding.accepted,
  ]
  /// The header blocks of every successful unary call, encoded once.
  static let responseHead = HeaderBlock(responseHeaders)
  static let okTrailers = HeaderBlock(["grpc-status": "0"])

  /// The response that refuses a request whose headers are not a gRPC call we accept, or
  /// nil to go ahead. An unknown `grpc-encoding` is UNIMPLEMENTED with the ones accepted,
  /// as the gRPC compression document says.
  static func rejection(of head: RequestHead) -> HPACKHeaders? {
    if head.malformed { return [":status": "400"] }
    guard let contentType = head.contentType, isGRPC(contentType) else { return [":status": "415"] }
    guard head.method == "POST" else {
      return trailers(Status(code: .invalidArgument, message: ":method must be POST"), trailersOnly: true)
    }
    if head.timeout == .malformed {
      return trailers(Status(code: .internalError, message: "malformed grpc-timeout"), trailersOnly: true)
    }
    if let encoding = head.encoding, MessageEncoding(header: encoding) == nil {
      return trailers(
        Status(code: .unimplemented, message: "\(encoding) compression is not supported"), trailersOnly: true)
    }
    return nil
  }

  /// `application/grpc`, optionally `+proto` or with parameters.
  private static func isGRPC(_ contentType: String) -> Bool {
    let base = "application/grpc"
    guard contentType.utf8.starts(with: base.utf8) else { return false }
    let rest = contentType.utf8.dropFirst(base.utf8.count)
    return rest.isEmpty || rest.first == UInt8(ascii: "+") || rest.first == UInt8(ascii: ";")
  }

  /// The method a `:path` such as `/keyquarry.KeyQuarry/Get` names.
  static func method(path: String) -> MethodDescriptor? {
    guard path.hasPrefix("/"), let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return nil }
    let service = path[path.index(after: path.startIndex)..<slash]
    let method = path[path.index(after: slash)...]
    guard !service.isEmpty, !method.isEmpty else { return nil }
    return MethodDescriptor(fullyQualifiedService: String(service), method: String(method))
  }

  /// Request headers as metadata, `-bin` values decoded (gRPC sends them unpadded).
  static func metadata(_ headers: HPACKHeaders) -> Metadata {
    var metadata = Metadata()
    metadata.reserveCapacity(headers.count)
    for (name, value, _) in headers {
      if name.hasSuffix("-bin"), let bytes = decodeBase64(value) {
        metadata.addBinary(bytes, forKey: name)
      } else {
        metadata.addString(value, forKey: name)
      }
    }
    return metadata
  }

  private static func decodeBase64(_ value: String) -> [UInt8]? {
    let padding = String(repeating: "=", count: (4 - value.utf8.count % 4) % 4)
    return Data(base64Encoded: value + padding).map { [UInt8]($0) }
  }

  static func headers(_ metadata: Metadata) -> HPACKHeaders {
    var headers = responseHeaders
    add(metadata, to: &headers)
    return headers
  }

  /// The trailers that end a response; `trailersOnly` when no headers were sent before.
  static func trailers(_ status: Status, metadata: Metadata = [:], trailersOnly: Bool) -> HPACKHeaders {
    var trailers = trailersOnly ? responseHeaders : [:]
    trailers.add(name: "grpc-status", value: String(status.code.rawValue))
    if !status.message.isEmpty {
      trailers.add(name: "grpc-message", value: percentEncoded(status.message))
    }
    add(metadata, to: &trailers)
    return trailers
  }

  private static func add(_ metadata: Metadata, to headers: inout HPACKHeaders) {
    for (key, value) in metadata {
      headers.add(name: key.lowercased(), value: value.encoded())
    }
  }

  /// grpc-message: printable ASCII except `%` as is, every other byte as `%XX`.
  static func percentEncoded(_ message: String) -> String {
    var encoded = ""
    for byte in message.utf8 {
      if (0x20...0x7E).contains(byte), byte != UInt8(ascii: "%") {
        encoded.unicodeScalars.append(Unicode.Scalar(byte))
      } else {
        encoded += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
      }
    }
    return encoded
  }

  /// The status and trailing metadata an error thrown by a call becomes.
  static func status(of error: any Error) -> (Status, Metadata) {
    switch error {
    case let error as RPCError:
      (Status(code: Status.Code(error.code), message: error.message), error.metadata)
    case let error as any RPCErrorConvertible:
      (Status(code: Status.Code(error.rpcErrorCode), message: error.rpcErrorMessage), error.rpcErrorMetadata)
    default:
      (Status(code: .unknown, message: "Service method threw an unknown error."), [:])
    }
  }
}

/// The request headers the transport itself reads, found in the one pass that also
/// checks every field as RFC 9113 §8.2.1 asks: lower-case names of visible characters,
/// values without NUL, CR or LF.
struct RequestHead {
  var path = ""
  var method = ""
  var contentType: String?
  var encoding: String?
  var acceptEncoding: String?
  var clientID: String?
  var timeout: GRPCTimeout?
  var malformed = false

  init(_ headers: HPACKHeaders) {
    for (name, value, _) in headers {
      if !Self.isValid(name: name) || !Self.isValid(value: value) { malformed = true }
      switch name {
      case ":path": path = value
      case ":method": method = value
      case "content-type": contentType = value
      case "grpc-encoding": encoding = value
      case "grpc-accept-encoding": acceptEncoding = value
      case "client_id": clientID = value
      case "grpc-timeout": timeout = GRPCTimeout(value)
      default: break
      }
    }
  }
}

extension RequestHead {
  private static func isValid(name: String) -> Bool {
    var name = name
    return !name.isEmpty
      && name.withUTF8 { bytes in
        !bytes.contains { $0 <= 0x20 || $0 >= 0x7F || (0x41...0x5A).contains($0) }
      }
  }

  private static func isValid(value: String) -> Bool {
    var value = value
    return value.withUTF8 { bytes in !bytes.contains { $0 == 0 || $0 == 0x0A || $0 == 0x0D } }
  }
}

/// `grpc-timeout`: at most 8 digits and a unit (H, M, S, m, u, n), as the gRPC over HTTP/2
/// document writes it; anything else is malformed, and the call is refused (as grpc-go does).
enum GRPCTimeout: Equatable {
  case after(TimeAmount)
  case malformed

  init(_ value: String) {
    let digits = value.utf8.dropLast()
    guard (1...8).contains(digits.count), digits.allSatisfy({ (48...57).contains($0) }), let amount = Int64(String(digits)!)
    else {
      self = .malformed
      return
    }
    switch value.utf8.last {
    case UInt8(ascii: "H"): self = .after(.hours(amount))
    case UInt8(ascii: "M"): self = .after(.minutes(amount))
    case UInt8(ascii: "S"): self = .after(.seconds(amount))
    case UInt8(ascii: "m"): self = .after(.milliseconds(amount))
    case UInt8(ascii: "u"): self = .after(.microseconds(amount))
    case UInt8(ascii: "n"): self = .after(.nanoseconds(amount))
    default: self = .malformed
    }
  }
}

extension String {
  fileprivate func leftPadded(to width: Int) -> String {
    String(repeating: "0", count: max(0, width - count)) + self
  }
}
