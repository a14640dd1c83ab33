import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A unix socket path is taken over only when nothing listens on it any more.
public enum UnixSocketFile {
  struct InUse: Error, CustomStringConvertible {
    let path: String
    var description: String { "socket file '\(path)' already exists and a server is listening on it" }
  }

  /// Removes a stale socket file; refuses when a live server owns it.
  public static func prepare(_ path: String) throws {
    guard FileManager.default.fileExists(atPath: path) else { return }
    if isLive(path) { throw InUse(path: path) }
    remove(path)
  }

  public static func remove(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
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
