import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A unix socket path is taken over only when it holds a socket that nothing listens on
/// any more: a file, a directory or a live server's socket at the path is never touched.
public enum UnixSocketFile {
  struct Refused: Error, CustomStringConvertible {
    let path: String
    let reason: String
    var description: String { "cannot listen on unix socket '\(path)': \(reason)" }
  }

  /// Removes a stale socket file; refuses, touching nothing, when anything else is there.
  public static func prepare(_ path: String) throws {
    guard let type = type(of: path) else { return }
    guard type == .typeSocket else {
      let what = type == .typeDirectory ? "a directory" : "a file that is not a socket"
      throw Refused(path: path, reason: "\(what) is there (left as it is)")
    }
    if isLive(path) { throw Refused(path: path, reason: "another server is listening on it") }
    remove(path)
  }

  /// Removes the socket file at `path`, and nothing that is not a socket.
  public static func remove(_ path: String) {
    guard type(of: path) == .typeSocket else { return }
    try? FileManager.default.removeItem(atPath: path)
  }

  /// The type of what is at `path` itself (a symbolic link is not followed), or nil.
  private static func type(of path: String) -> FileAttributeType? {
    (try? FileManager.default.attributesOfItem(atPath: path))?[.type] as? FileAttributeType
  }

  private static func isLive(_ path: String) -> Bool {
    #if canImport(Glibc)
      let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    #else
      let fd = socket(AF_UNIX, SOCK_STREAM, 0)
    #endif
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let capacity = MemoryLayout.size(ofValue: address.sun_path)
    guard path.utf8.count < capacity else { return false }
    withUnsafeMutableBytes(of: &address.sun_path) { buffer in
      buffer.copyBytes(from: path.utf8)
      buffer[path.utf8.count] = 0
    }
    let result = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
      }
    }
    return result == 0
  }
}
