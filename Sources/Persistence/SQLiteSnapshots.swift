import Foundation
import GRDB
import Synchronization

/// Snapshots in a SQLite file (WAL mode), through GRDB.
final class SQLiteSnapshots: SnapshotDatabase {
  private let pool: DatabasePool
  private let path: String
  private let lock = Mutex<FileLock?>(nil)

  init(path: String) throws {
    var configuration = Configuration()
    configuration.busyMode = .timeout(10)
    pool = try DatabasePool(path: path, configuration: configuration)
    self.path = path
  }

  func claim(_ claim: SnapshotClaim) async throws {
    guard let taken = try FileLock(path: path, exclusive: claim == .alone) else {
      throw SnapshotError.inUse("sqlite://\(path)", claim)
    }
    lock.withLock { $0 = taken }
  }

  func prepare() async throws {
    var migrator = DatabaseMigrator()
    migrator.registerMigration("v1") { db in
      try db.execute(sql: """
        CREATE TABLE snapshots (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          server_name TEXT NOT NULL,
          created DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
          keys INTEGER NOT NULL,
          bytes INTEGER NOT NULL,
          complete BOOLEAN NOT NULL DEFAULT FALSE
        );
        CREATE INDEX snapshots_server_name_idx ON snapshots (server_name, complete, id);
        CREATE TABLE snapshot_chunks (
          snapshot_id INTEGER NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
          seq INTEGER NOT NULL,
          data BLOB NOT NULL,
          PRIMARY KEY (snapshot_id, seq)
        );
        """)
    }
    try migrator.migrate(pool)
  }

  func save(name: String, chunks: SnapshotChunks) async throws -> SnapshotInfo {
    try await pool.write { db in
      try db.execute(sql: "INSERT INTO snapshots (server_name, keys, bytes) VALUES (?, 0, 0)", arguments: [name])
      let id = db.lastInsertedRowID
      var bytes = 0
      for (seq, chunk) in chunks.enumerated() {
        try db.execute(
          sql: "INSERT INTO snapshot_chunks (snapshot_id, seq, data) VALUES (?, ?, ?)", arguments: [id, seq, chunk])
        bytes += chunk.count
      }
      let keys = chunks.keyCount
      try db.execute(
        sql: "UPDATE snapshots SET keys = ?, bytes = ?, complete = TRUE WHERE id = ?", arguments: [keys, bytes, id])
      let created = try Date.fetchOne(db, sql: "SELECT created FROM snapshots WHERE id = ?", arguments: [id]) ?? Date()
      return SnapshotInfo(id: id, name: name, created: created, keys: keys, bytes: bytes)
    }
  }

  func list(name: String?) async throws -> [SnapshotInfo] {
    try await pool.read { db in
      let rows = try Row.fetchAll(
        db,
        sql: """
          SELECT id, server_name, created, keys, bytes FROM snapshots
          WHERE complete AND (? IS NULL OR server_name = ?) ORDER BY id DESC
          """, arguments: [name, name])
      return rows.map { row in
        SnapshotInfo(id: row["id"], name: row["server_name"], created: row["created"], keys: row["keys"], bytes: row["bytes"])
      }
    }
  }

  func promote(_ id: Int64, as name: String) async throws -> SnapshotInfo {
    try await pool.write { db in
      guard let row = try Row.fetchOne(
        db, sql: "SELECT keys, bytes FROM snapshots WHERE id = ? AND complete", arguments: [id])
      else { throw SnapshotError.notFound(id) }
      let (keys, bytes): (Int, Int) = (row["keys"], row["bytes"])
      try db.execute(
        sql: "INSERT INTO snapshots (server_name, keys, bytes, complete) VALUES (?, ?, ?, TRUE)",
        arguments: [name, keys, bytes])
      let copy = db.lastInsertedRowID
      try db.execute(
        sql: "INSERT INTO snapshot_chunks (snapshot_id, seq, data) SELECT ?, seq, data FROM snapshot_chunks WHERE snapshot_id = ?",
        arguments: [copy, id])
      let created = try Date.fetchOne(db, sql: "SELECT created FROM snapshots WHERE id = ?", arguments: [copy]) ?? Date()
      return SnapshotInfo(id: copy, name: name, created: created, keys: keys, bytes: bytes)
    }
  }

  func readChunks(of id: Int64, _ body: @Sendable (Data) throws -> Void) async throws {
    try await pool.read { db in
      guard try Bool.fetchOne(db, sql: "SELECT complete FROM snapshots WHERE id = ?", arguments: [id]) == true else {
        throw SnapshotError.notFound(id)
      }
      let cursor = try Data.fetchCursor(
        db, sql: "SELECT data FROM snapshot_chunks WHERE snapshot_id = ? ORDER BY seq", arguments: [id])
      while let chunk = try cursor.next() { try body(chunk) }
    }
  }

  /// Runs raw SQL (maintenance and tests).
  func execute(_ sql: String) async throws {
    try await pool.write { try $0.execute(sql: sql) }
  }

  func close() async throws {
    try pool.close()
    lock.withLock { $0?.release() }
  }
}
