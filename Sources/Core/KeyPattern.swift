/// A ListKeys pattern: an RE2-style regular expression matched anywhere in the key.
/// Constructs RE2 rejects (look-around, back-references) are rejected here too, so a
/// pattern means the same as it did with the original server.
struct KeyPattern {
  private let regex: Regex<AnyRegexOutput>?

  init(_ pattern: String) throws(StoreError) {
    guard !pattern.isEmpty else {
      regex = nil
      return
    }
    if let unsupported = Self.unsupportedConstruct(in: pattern) {
      throw .invalidPattern("\(unsupported) is not supported")
    }
    do {
      regex = try Regex(pattern)
    } catch {
      throw .invalidPattern("\(error)")
    }
  }

  func matches(_ key: String) -> Bool {
    guard let regex else { return true }
    return key.contains(regex)
  }

  private static func unsupportedConstruct(in pattern: String) -> String? {
    let chars = Array(pattern)
    var index = 0
    while index < chars.count {
      let char = chars[index]
      if char == "\\", index + 1 < chars.count {
        let next = chars[index + 1]
        if next.isNumber, next != "0" { return "back-reference \\\(next)" }
        if next == "k" { return "named back-reference" }
        index += 2
        continue
      }
      if char == "(", index + 2 < chars.count, chars[index + 1] == "?" {
        let rest = String(chars[(index + 2)...].prefix(2))
        if rest.hasPrefix("=") || rest.hasPrefix("!") || rest == "<=" || rest == "<!" {
          return "look-around"
        }
      }
      index += 1
    }
    return nil
  }
}
