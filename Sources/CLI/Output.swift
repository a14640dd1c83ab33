import Foundation
import SwiftProtobuf

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

enum Output {
  /// Proto3 canonical JSON (lowerCamelCase), one document per line, or pretty-printed.
  static func json(_ message: some SwiftProtobuf.Message, indent: Int) throws {
    let compact = try message.jsonString()
    write(Data(((indent > 0 ? JSONIndenter.indent(compact, by: indent) : compact) + "\n").utf8))
  }

  /// A value's raw bytes; a newline is added only for a terminal, so pipes get the exact bytes.
  static func raw(_ value: Data) {
    write(value)
    if isatty(STDOUT_FILENO) == 1 { write(Data("\n".utf8)) }
  }

  static func line(_ text: String) {
    write(Data((text + "\n").utf8))
  }

  private static func write(_ data: Data) {
    FileHandle.standardOutput.write(data)
  }

  /// A value from the argument, else from stdin when stdin is not a terminal.
  static func value(argument: String?) throws -> Data {
    if let argument { return Data(argument.utf8) }
    guard isatty(STDIN_FILENO) == 0 else { return Data() }
    return FileHandle.standardInput.readDataToEndOfFile()
  }
}

/// Re-indents compact JSON, keeping the field order swift-protobuf wrote.
enum JSONIndenter {
  static func indent(_ json: String, by width: Int) -> String {
    var out = ""
    var depth = 0
    var inString = false
    var escaped = false
    let pad = { (level: Int) in "\n" + String(repeating: " ", count: level * width) }
    var previous: Character = " "
    for char in json {
      if inString {
        out.append(char)
        if escaped { escaped = false } else if char == "\\" { escaped = true } else if char == "\"" { inString = false }
        previous = char
        continue
      }
      switch char {
      case "\"":
        inString = true
        out.append(char)
      case "{", "[":
        depth += 1
        out.append(char)
        out += pad(depth)
      case "}", "]":
        depth -= 1
        if previous == "{" || previous == "[" {
          // Empty object or array: undo the line break.
          out = String(out.dropLast(depth * width + width + 1))
        } else {
          out += pad(depth)
        }
        out.append(char)
      case ",":
        out.append(char)
        out += pad(depth)
      case ":":
        out += ": "
      default:
        out.append(char)
      }
      previous = char
    }
    return out
  }
}
