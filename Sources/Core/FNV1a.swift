import Foundation

/// 64-bit FNV-1a, the hash the original keyquarry reports for values.
public enum FNV1a {
  public static let offsetBasis: UInt64 = 14_695_981_039_346_656_037
  static let prime: UInt64 = 1_099_511_628_211

  public static func hash(_ data: Data) -> UInt64 {
    data.withUnsafeBytes { bytes in
      var hash = offsetBasis
      for byte in bytes {
        hash ^= UInt64(byte)
        hash &*= prime
      }
      return hash
    }
  }
}
