import Foundation
import Logging

/// A saved snapshot, as listed.
public struct SnapshotInfo: Sendable, Equatable {
  public let id: Int64
  public let name: String
  public let created: Date
  public let keys: Int
  public let bytes: Int
  /// The last journal segment whose changes it holds (0: none), known once restored.
  public var journalSegment: UInt64 = 0
}

/// Where snapshots are kept. A snapshot is written in one transaction: a crash at any
/// moment leaves either all of it or none of it, and the previous one stays restorable.
public protocol SnapshotDatabase: Sendable {
  /// Creates or migrates the schema.
  func prepare() async throws
  /// Saves one snapshot, consuming its chunks in order.
  func save(name: String, chunks: SnapshotChunks) async throws -> SnapshotInfo
  /// Newest first; all names when `name` is nil.
  func list(name: String?) async throws -> [SnapshotInfo]
  /// Makes a copy of snapshot `id` the newest one of `name`, so the next start restores it.
  func promote(_ id: Int64, as name: String) async throws -> SnapshotInfo
  /// Calls `body` with each chunk of snapshot `id`, in order.
  func readChunks(of id: Int64, _ body: @Sendable (Data) throws -> Void) async throws
  /// Holds the database until `close`: a running server shares it with other servers;
  /// `snapshot restore` takes it alone, so that no running server's shutdown snapshot
  /// undoes the restore. Throws `SnapshotError.inUse` when that cannot be had now.
  func claim(_ claim: SnapshotClaim) async throws
  func close() async throws
}

public enum SnapshotClaim: Sendable {
  /// A running server: servers (of any name) may share the database.
  case server
  /// `snapshot restore`: only while no server uses the database.
  case alone
}

public enum SnapshotDatabases {
  /// The database a `snapshot.database` URL names (`sqlite:///path` or
  /// `postgres://user:password@host:port/dbname`); an empty URL means SQLite at `./keyquarry.db`.
  /// `connectTimeout` bounds how long PostgreSQL may take to answer (`prepare` fails then).
  public static func open(
    _ url: String, connectTimeout: Duration = .seconds(5), logger: Logger = Logger(label: "keyquarry.snapshots")
  ) throws -> any SnapshotDatabase {
    if url.isEmpty { return try SQLiteSnapshots(path: "keyquarry.db") }
    if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
      return try PostgresSnapshots(url: url, connectTimeout: connectTimeout, logger: logger)
    }
    if url.hasPrefix("sqlite://") {
      let path = String(url.dropFirst("sqlite://".count))
      guard !path.isEmpty else { throw SnapshotError.unsupportedDatabase(url) }
      return try SQLiteSnapshots(path: path)
    }
    throw SnapshotError.unsupportedDatabase(url)
  }
}
