import Foundation
import Testing

/// A real PostgreSQL server on loopback with a throwaway data directory (Debian's
/// `postgresql` package). Runs as the `postgres` user when the tests run as root.
final class PostgresServer: @unchecked Sendable {
  private(set) var port: Int
  let directory: URL
  private static let bin: URL? = {
    let root = URL(fileURLWithPath: "/usr/lib/postgresql")
    let versions = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
    return versions.sorted().last.map { root.appendingPathComponent($0).appendingPathComponent("bin") }
  }()

  /// The connect timeout of databases opened on these servers: generous, because the
  /// whole suite runs in parallel on a small machine, where the pool's first connection
  /// can wait seconds for a thread (the timeout itself is `PostgresUnreachableTests`').
  static let connectTimeout: Duration = .seconds(60)

  /// One server for the whole test run; each test uses a database of its own.
  static let shared: PostgresServer? = {
    let server = try? PostgresServer()
    if let server {
      sharedDataDirectory = server.directory.appendingPathComponent("data").path
      atexit { if let data = sharedDataDirectory { try? PostgresServer.run(pgCtl, ["-D", data, "-m", "immediate", "stop"]) } }
    }
    return server
  }()
  nonisolated(unsafe) private static var sharedDataDirectory: String?
  private static var pgCtl: String { bin!.appendingPathComponent("pg_ctl").path }

  init() throws {
    guard let bin = Self.bin else { throw Failure("PostgreSQL is not installed (apt-get install postgresql)") }
    directory = URL(fileURLWithPath: "/tmp").appendingPathComponent("kq-pg-\(UUID().uuidString.prefix(8))")
    // Made by the user the server runs as (as root: `postgres`; PostgreSQL refuses root).
    try Self.run("/bin/mkdir", ["-p", directory.path])
    port = try Self.freePort()
    let data = directory.appendingPathComponent("data").path
    try Self.run(bin.appendingPathComponent("initdb").path, ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"])
    // The free port can be taken by another test's socket before PostgreSQL binds it.
    for attempt in 1...3 {
      do {
        try start()
        return
      } catch where attempt < 3 {
        port = try Self.freePort()
      }
    }
  }

  func url(_ database: String) -> String { "postgres://postgres@127.0.0.1:\(port)/\(database)?sslmode=disable" }

  /// A new, empty database.
  func createDatabase() throws -> String {
    let name = "kq_" + UUID().uuidString.prefix(8).lowercased()
    try sql("CREATE DATABASE \(name)", database: "postgres")
    return name
  }

  func sql(_ statement: String, database: String) throws {
    try Self.run("/usr/bin/psql", ["-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres", "-d", database, "-q", "-c", statement], asPostgres: false)
  }

  func stop() throws {
    try Self.run(Self.pgCtl, ["-D", directory.appendingPathComponent("data").path, "-m", "immediate", "-w", "stop"])
  }

  func start() throws {
    try Self.run(
      Self.pgCtl,
      ["-D", directory.appendingPathComponent("data").path, "-w", "-l", directory.appendingPathComponent("log").path,
       "-o", "-p \(port) -k \(directory.path) -c listen_addresses=127.0.0.1 -c fsync=off", "start"])
  }

  deinit { try? stop() }

  struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
  }

  /// Runs a command to completion with `system` (Foundation's Process can miss the exit
  /// of a command whose child daemonizes, as `pg_ctl start` does).
  fileprivate static func run(_ tool: String, _ arguments: [String], asPostgres: Bool = true) throws {
    var words = [tool] + arguments
    if asPostgres, getuid() == 0 { words = ["/usr/sbin/runuser", "-u", "postgres", "--"] + words }
    let log = "/tmp/kq-pg-command-\(UUID().uuidString.prefix(8)).log"
    defer { unlink(log) }
    let command = words.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
    let status = system("\(command) > \(log) 2>&1 < /dev/null")
    guard status == 0 else {
      let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
      throw Failure("\(words.joined(separator: " ")) failed (\(status)): \(output)")
    }
  }

  private static func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
        bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
      }
    }
    guard bound else { throw Failure("no free port") }
    return Int(UInt16(bigEndian: address.sin_port))
  }
}
