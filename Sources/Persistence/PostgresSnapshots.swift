import Foundation
import Logging
import NIOSSL
import PostgresNIO
import Synchronization

/// Snapshots in PostgreSQL, through PostgresNIO, from a
/// `postgres://user:password@host:port/dbname?sslmode=…` URL. Same tables and semantics
/// as SQLite; the schema is versioned in `keyquarry_schema_migrations`.
final class PostgresSnapshots: SnapshotDatabase {
  private let client: PostgresClient
  private let runner: Task<Void, Never>
  private let logger: Logger
  private let server: PostgresServerAddress
  private let connectTimeout: Duration
  /// The connection holding the claim's advisory lock, until `close` ends it.
  private let claimHolder = Mutex<Task<Void, Never>?>(nil)
  /// The key of the claim's advisory lock (the migration lock's is 7246175).
  private static let claimKey = 7_246_176

  /// Schema versions, applied in order, each once.
  private static let migrations: [(version: Int, sql: [PostgresQuery])] = [
    (1, [
      """
      CREATE TABLE IF NOT EXISTS snapshots (
        id BIGSERIAL PRIMARY KEY,
        server_name TEXT NOT NULL,
        created TIMESTAMPTZ NOT NULL DEFAULT now(),
        keys BIGINT NOT NULL,
        bytes BIGINT NOT NULL,
        complete BOOLEAN NOT NULL DEFAULT FALSE
      )
      """,
      "CREATE INDEX IF NOT EXISTS snapshots_server_name_idx ON snapshots (server_name, complete, id)",
      """
      CREATE TABLE IF NOT EXISTS snapshot_chunks (
        snapshot_id BIGINT NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        data BYTEA NOT NULL,
        PRIMARY KEY (snapshot_id, seq)
      )
      """,
    ])
  ]

  init(url: String, connectTimeout: Duration, logger: Logger) throws {
    var configuration = try Self.configuration(url)
    configuration.options.connectTimeout = connectTimeout
    server = PostgresServerAddress(configuration)
    self.connectTimeout = connectTimeout
    // The pool retries a failed connection with backoff and logs each try; `prepare`
    // reports an unreachable server once, in one line, so only the pool's errors show.
    var background = logger
    background.logLevel = .error
    client = PostgresClient(configuration: configuration, backgroundLogger: background)
    self.logger = logger
    runner = Task { [client] in await client.run() }
  }

  static func configuration(_ url: String) throws -> PostgresClient.Configuration {
    guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme) else {
      throw SnapshotError.unsupportedDatabase(url)
    }
    let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }) { $1 }
    let user = components.percentEncodedUser?.removingPercentEncoding ?? "postgres"
    let password = components.percentEncodedPassword?.removingPercentEncoding
    let database = String(components.path.dropFirst()).removingPercentEncoding.flatMap { $0.isEmpty ? nil : $0 }
    if let socketDirectory = query["host"], socketDirectory.hasPrefix("/") {
      let port = components.port ?? 5432
      return .init(
        unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: user, password: password, database: database)
    }
    var verifying = TLSConfiguration.makeClientConfiguration()
    var trusting = verifying
    trusting.certificateVerification = .none
    let tls: PostgresClient.Configuration.TLS
    switch query["sslmode"] ?? "prefer" {
    case "disable": tls = .disable
    case "allow", "prefer": tls = .prefer(trusting)
    case "require": tls = .require(trusting)
    case "verify-ca":
      verifying.certificateVerification = .noHostnameVerification
      tls = .require(verifying)
    case "verify-full": tls = .require(verifying)
    case let mode: throw SnapshotError.unsupportedDatabase("\(url) (unknown sslmode '\(mode)')")
    }
    return .init(
      host: components.host ?? "localhost", port: components.port ?? 5432, username: user, password: password,
      database: database, tls: tls)
  }

  /// Fails within `connect_timeout` when the server cannot be reached, naming it and why,
  /// instead of retrying for as long as the pool would.
  func prepare() async throws {
    try await server.probe(within: connectTimeout)
    let connected = try await withDeadline(connectTimeout) { [client, logger] in
      _ = try await client.query("SELECT 1", logger: logger)
    }
    guard connected else {
      throw SnapshotError.unreachable("PostgreSQL at \(server)", "no connection within \(connectTimeout)")
    }
    try await migrate()
  }

  private func migrate() async throws {
    try await client.withTransaction(logger: logger) { connection in
      // One server migrates at a time.
      try await connection.query("SELECT pg_advisory_xact_lock(7246175)", logger: logger)
      try await connection.query(
        "CREATE TABLE IF NOT EXISTS keyquarry_schema_migrations (version INTEGER PRIMARY KEY, applied TIMESTAMPTZ NOT NULL DEFAULT now())",
        logger: logger)
      var applied = Set<Int>()
      for try await version in try await connection.query(
        "SELECT version FROM keyquarry_schema_migrations", logger: logger
      ).decode(Int.self) {
        applied.insert(version)
      }
      for migration in Self.migrations where !applied.contains(migration.version) {
        for statement in migration.sql { try await connection.query(statement, logger: logger) }
        try await connection.query(
          "INSERT INTO keyquarry_schema_migrations (version) VALUES (\(migration.version))", logger: logger)
      }
    }
  }

  func save(name: String, chunks: SnapshotChunks) async throws -> SnapshotInfo {
    try await client.withTransaction(logger: logger) { connection in
      let id = try await Self.single(
        connection.query(
          "INSERT INTO snapshots (server_name, keys, bytes) VALUES (\(name), 0, 0) RETURNING id", logger: logger),
        Int64.self)
      var bytes = 0
      for (seq, chunk) in chunks.enumerated() {
        try await connection.query(
          "INSERT INTO snapshot_chunks (snapshot_id, seq, data) VALUES (\(id), \(seq), \(chunk))", logger: logger)
        bytes += chunk.count
      }
      let keys = chunks.keyCount
      let created = try await Self.single(
        connection.query(
          "UPDATE snapshots SET keys = \(keys), bytes = \(bytes), complete = TRUE WHERE id = \(id) RETURNING created",
          logger: logger), Date.self)
      return SnapshotInfo(id: id, name: name, created: created, keys: keys, bytes: bytes)
    }
  }

  func list(name: String?) async throws -> [SnapshotInfo] {
    let rows = try await client.query(
      """
      SELECT id, server_name, created, keys, bytes FROM snapshots
      WHERE complete AND (\(name)::TEXT IS NULL OR server_name = \(name)) ORDER BY id DESC
      """, logger: logger)
    var result: [SnapshotInfo] = []
    for try await (id, server, created, keys, bytes) in rows.decode((Int64, String, Date, Int64, Int64).self) {
      result.append(SnapshotInfo(id: id, name: server, created: created, keys: Int(keys), bytes: Int(bytes)))
    }
    return result
  }

  func promote(_ id: Int64, as name: String) async throws -> SnapshotInfo {
    try await client.withTransaction(logger: logger) { connection in
      var found: (Int64, Int64)?
      for try await row in try await connection.query(
        "SELECT keys, bytes FROM snapshots WHERE id = \(id) AND complete", logger: logger
      ).decode((Int64, Int64).self) {
        found = row
      }
      guard let (keys, bytes) = found else { throw SnapshotError.notFound(id) }
      var copy: (Int64, Date)?
      for try await row in try await connection.query(
        "INSERT INTO snapshots (server_name, keys, bytes, complete) VALUES (\(name), \(keys), \(bytes), TRUE) RETURNING id, created",
        logger: logger
      ).decode((Int64, Date).self) {
        copy = row
      }
      guard let (copyID, created) = copy else { throw SnapshotError.notFound(id) }
      try await connection.query(
        "INSERT INTO snapshot_chunks (snapshot_id, seq, data) SELECT \(copyID), seq, data FROM snapshot_chunks WHERE snapshot_id = \(id)",
        logger: logger)
      return SnapshotInfo(id: copyID, name: name, created: created, keys: Int(keys), bytes: Int(bytes))
    }
  }

  func readChunks(of id: Int64, _ body: @Sendable (Data) throws -> Void) async throws {
    guard try await list(name: nil).contains(where: { $0.id == id }) else { throw SnapshotError.notFound(id) }
    let rows = try await client.query(
      "SELECT data FROM snapshot_chunks WHERE snapshot_id = \(id) ORDER BY seq", logger: logger)
    for try await chunk in rows.decode(Data.self) { try body(chunk) }
  }

  /// A session advisory lock (shared for a server, exclusive for a restore), held by one
  /// leased connection until `close`; PostgreSQL drops it if that connection is lost.
  func claim(_ claim: SnapshotClaim) async throws {
    let take: PostgresQuery =
      claim == .server
      ? "SELECT pg_try_advisory_lock_shared(\(Self.claimKey))" : "SELECT pg_try_advisory_lock(\(Self.claimKey))"
    let (taken, held) = AsyncStream.makeStream(of: Bool.self)
    let holder = Task { [client, logger] in
      do {
        try await client.withConnection { connection in
          let got = try await Self.single(connection.query(take, logger: logger), Bool.self)
          held.yield(got)
          guard got else { return }
          // Until `close` cancels this task; the client's shutdown then ends the session.
          while true { try await Task.sleep(for: .seconds(3600)) }
        }
      } catch {
        held.finish()
      }
    }
    claimHolder.withLock { $0 = holder }
    var iterator = taken.makeAsyncIterator()
    guard let got = await iterator.next() else {
      throw SnapshotError.unreachable("PostgreSQL at \(server)", "could not claim the snapshot database")
    }
    guard got else { throw SnapshotError.inUse("at \(server)", claim) }
  }

  func close() async throws {
    if let holder = claimHolder.withLock({ $0 }) {
      holder.cancel()
      await holder.value
    }
    runner.cancel()
    await runner.value
  }

  private static func single<T: PostgresDecodable & Sendable>(_ rows: PostgresRowSequence, _ type: T.Type) async throws -> T {
    for try await value in rows.decode(T.self) { return value }
    throw SnapshotError.corrupt("the database returned no row")
  }
}
