import CompressNIO
import GRPCCore
import NIOCore

/// A `grpc-encoding`: how messages whose compressed flag is set are compressed. Existing
/// clients compress (grpc-go's `UseCompressor(gzip.Name)`, grpcio's `compression=`), so
/// both of gRPC's standard encodings are accepted, and responses may use one of them
/// (`ResponseCompression`).
public enum MessageEncoding: String, Sendable, Equatable, CaseIterable {
  case identity, gzip, deflate

  /// The encodings accepted, as `grpc-accept-encoding` names them.
  static let accepted = "gzip, deflate, identity"

  /// Nil for an encoding this server does not know.
  init?(header: String?) {
    guard let header else {
      self = .identity
      return
    }
    self.init(rawValue: header)
  }

  /// Whether a `grpc-accept-encoding` list (`identity, deflate, gzip`) names this one.
  func isListed(in acceptEncoding: String?) -> Bool {
    guard let acceptEncoding else { return false }
    return acceptEncoding.split(separator: ",").contains { $0.filter { $0 != " " && $0 != "\t" } == rawValue }
  }

  private var algorithm: CompressNIO.CompressionAlgorithm? {
    switch self {
    case .identity: nil
    case .gzip: .gzip()
    // gRPC's "deflate" is the zlib format (RFC 1950), as grpc-go and gRPC core write it.
    case .deflate: .zlib()
    }
  }

  /// The message inflated, at most `limit` bytes: inflating stops once the limit is
  /// passed, so a small message that would inflate to gigabytes costs no more than that.
  func inflate(_ compressed: ByteBuffer, limit: Int) throws(RPCError) -> ByteBuffer {
    guard let algorithm else { return compressed }
    var compressed = compressed
    do {
      return try compressed.decompress(with: algorithm, maxSize: limit)
    } catch let error as CompressNIOError where error == .bufferOverflow {
      throw RPCError(
        code: .resourceExhausted, message: "message inflates past the maximum request size of \(limit) bytes")
    } catch {
      throw RPCError(code: .internalError, message: "could not inflate a \(self) message: \(error)")
    }
  }

  /// `payload` compressed, written into `buffer` after what it holds; false (and `buffer`
  /// as it was) if it could not be.
  func compress(_ payload: ByteBuffer, into buffer: inout ByteBuffer) -> Bool {
    guard let algorithm else { return false }
    var payload = payload
    let compressor = algorithm.compressor
    let start = buffer.writerIndex
    do {
      try compressor.startStream()
      defer { try? compressor.finishStream() }
      buffer.reserveCapacity(minimumWritableBytes: compressor.maxSize(from: payload))
      try compressor.streamDeflate(from: &payload, to: &buffer, flush: .finish)
      return true
    } catch {
      buffer.moveWriterIndex(to: start)
      return false
    }
  }
}
