import Foundation
import NIOCore
import NIOPosix
import PostgresNIO

/// Where a PostgreSQL server listens, to name it in errors and to check, before the
/// connection pool tries, that something answers there at all.
struct PostgresServerAddress: CustomStringConvertible, Sendable {
  private let host: String?
  private let port: Int
  private let socketPath: String?

  init(_ configuration: PostgresClient.Configuration) {
    host = configuration.host
    port = configuration.port ?? 5432
    socketPath = configuration.unixSocketPath
  }

  var description: String { socketPath ?? "\(host ?? "localhost"):\(port)" }

  /// Opens and closes one TCP (or unix socket) connection, or throws why it could not.
  func probe(within timeout: Duration) async throws {
    let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .connectTimeout(TimeAmount(timeout))
    do {
      let channel =
        if let socketPath {
          try await bootstrap.connect(unixDomainSocketPath: socketPath).get()
        } else {
          try await bootstrap.connect(host: host ?? "localhost", port: port).get()
        }
      try? await channel.close()
    } catch {
      throw SnapshotError.unreachable("PostgreSQL at \(self)", Self.reason(error))
    }
  }

  /// "Connection refused" rather than NIO's nested description.
  private static func reason(_ error: any Error) -> String {
    switch error {
    case let error as NIOConnectionError:
      error.connectionErrors.first.map { reason($0.error) } ?? error.dnsAAAAError.map(reason) ?? "\(error)"
    case let error as IOError:
      String(cString: strerror(error.errnoCode))
    case ChannelError.connectTimeout(let timeout):
      "no answer within \(Duration.nanoseconds(timeout.nanoseconds))"
    default:
      "\(error)"
    }
  }
}

/// `body`'s completion within `limit`: false when the limit passed first (`body` is then
/// cancelled).
func withDeadline(_ limit: Duration, _ body: @escaping @Sendable () async throws -> Void) async throws -> Bool {
  try await withThrowingTaskGroup(of: Bool.self) { group in
    group.addTask {
      try await body()
      return true
    }
    group.addTask {
      try await Task.sleep(for: limit)
      return false
    }
    let first = try await group.next()!
    group.cancelAll()
    return first
  }
}
