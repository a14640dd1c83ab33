import ArgumentParser
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

  /// Writes to stdout. A reader that has gone away (`keyquarry client list | head -1`) has
  /// all it wanted: the command ends there with status 0, as `cat` does.
  static func write(_ data: Data) {
    guard StandardStream.write(data, to: STDOUT_FILENO) else { exit(0) }
  }

  /// A value from the argument, else from stdin; a terminal is not read (a user who
  /// forgot the value would store whatever they typed next, or wait on a silent prompt).
  static func value(argument: String?) throws -> Data {
    if let argument { return Data(argument.utf8) }
    guard isatty(STDIN_FILENO) == 0 else {
      throw ValidationError("no value: give it after the key, or pipe it in (keyquarry client set k < file)")
    }
    return FileHandle.standardInput.readDataToEndOfFile()
  }
}

/// Whole writes to a standard stream that report a closed reader instead of trapping, as
/// FileHandle's do. SIGPIPE is ignored (`Keyquarry.main`), so a closed pipe is EPIPE here.
enum StandardStream {
  /// False when the stream is closed or broken.
  @discardableResult
  static func write(_ data: Data, to descriptor: Int32) -> Bool {
    data.withUnsafeBytes { buffer in
      var offset = 0
      while offset < buffer.count {
        let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
        if written >= 0 {
          offset += written
        } else if errno != EINTR {
          return false
        }
      }
      return true
    }
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
