import RE2Shim

/// A ListKeys pattern: an RE2 regular expression matched anywhere in the key, the dialect
/// of the original server's Go patterns. RE2 matches in time linear in the key, whatever
/// the pattern, so no pattern can stall a server (a backtracking engine takes seconds on
/// `^(a+)+$` against forty characters).
final class KeyPattern {
  /// Longest pattern accepted, in UTF-8 bytes.
  static let maxLength = 4096

  private let compiled: OpaquePointer?

  init(_ pattern: String) throws(StoreError) {
    guard !pattern.isEmpty else {
      compiled = nil
      return
    }
    let length = pattern.utf8.count
    guard length <= Self.maxLength else {
      throw .invalidPattern("\(length) bytes, longer than the limit of \(Self.maxLength)")
    }
    var error = [CChar](repeating: 0, count: 256)
    let compiled = pattern.withCString { re2shim_compile($0, length, &error, error.count) }
    guard let compiled else {
      throw .invalidPattern(String(decoding: error.prefix { $0 != 0 }.map(UInt8.init(bitPattern:)), as: UTF8.self))
    }
    self.compiled = compiled
  }

  deinit {
    if let compiled { re2shim_free(compiled) }
  }

  func matches(_ key: String) -> Bool {
    guard let compiled else { return true }
    var key = key  // withUTF8 copies only a key not stored as UTF-8
    return key.withUTF8 { bytes in
      bytes.withMemoryRebound(to: CChar.self) { re2shim_contains(compiled, $0.baseAddress, $0.count) }
    }
  }
}
