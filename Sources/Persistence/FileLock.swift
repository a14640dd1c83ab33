import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// An flock(2) lock on a file, held until `release`. SQLite locks its files with fcntl(2),
/// which flock does not touch, so the lock can be on the database file itself. Closing
/// this descriptor would drop the process's fcntl locks on the file too: release only
/// after the database is closed.
final class FileLock: Sendable {
  private let descriptor: Int32

  /// Nil when another process holds a conflicting lock.
  init?(path: String, exclusive: Bool) throws {
    descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else {
      throw SnapshotError.unreachable("'\(path)'", String(cString: strerror(errno)))
    }
    guard flock(descriptor, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0 else {
      close(descriptor)
      return nil
    }
  }

  func release() {
    close(descriptor)
  }
}
