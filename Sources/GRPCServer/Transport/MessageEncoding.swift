import CompressNIO
import GRPCCore
import NIOCore

/// A request's `grpc-encoding`: how its messages whose compressed flag is set are
/// compressed. Existing clients compress (grpc-go's `UseCompressor(gzip.Name)`, grpcio's
/// `compression=`), so both of gRPC's standard encodings are accepted.
enum MessageEncoding: Sendable, Equatable {
  case identity, gzip, deflate

  /// The encodings accepted, as `grpc-accept-encoding` names them.
  static let accepted = "gzip, deflate, identity"

  /// Nil for an encoding this server does not know.
  init?(header: String?) {
    switch header {
    case nil, "identity": self = .identity
    case "gzip": self = .gzip
    // gRPC's "deflate" is the zlib format (RFC 1950), as grpc-go and gRPC core write it.
    case "deflate": self = .deflate
    default: return nil
    }
  }

  /// The message inflated, at most `limit` bytes: inflating stops once the limit is
  /// passed, so a small message that would inflate to gigabytes costs no more than that.
  func inflate(_ compressed: ByteBuffer, limit: Int) throws(RPCError) -> ByteBuffer {
    var compressed = compressed
    let algorithm: CompressNIO.CompressionAlgorithm
    switch self {
    case .identity: return compressed
    case .gzip: algorithm = .gzip()
    case .deflate: algorithm = .zlib()
    }
    do {
      return try compressed.decompress(with: algorithm, maxSize: limit)
    } catch let error as CompressNIOError where error == .bufferOverflow {
      throw RPCError(
        code: .resourceExhausted, message: "message inflates past the maximum request size of \(limit) bytes")
    } catch {
      throw RPCError(code: .internalError, message: "could not inflate a \(self) message: \(error)")
    }
  }
}
