import ArgumentParser
import Core
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import KeyquarryProtos

/// `keyquarry client …`: one command per RPC. Output is proto3 JSON (or raw bytes for
/// values) on stdout; failures print the gRPC error on stderr and exit with status 1.
struct Client: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Call a keyquarry server.",
    discussion: "Example: keyquarry client set foo bar && keyquarry client get foo",
    subcommands: [
      SetCommand.self, GetCommand.self, InspectCommand.self, DeleteCommand.self,
      ExistsCommand.self, PopCommand.self, ClearCommand.self, ListCommand.self,
      StatsCommand.self, ClearHistoryCommand.self, LockCommand.self, UnlockCommand.self,
      RegisterCommand.self, ReadOnlyCommand.self, KeyMetricCommand.self, WatchCommand.self,
      WatchKeyCommand.self, PruneCommand.self, ShutdownCommand.self, TakeSnapshotCommand.self, LoadCommand.self,
    ])

  // Each option's default comes from its KEYQUARRY_* environment variable when set.
  @Option(name: [.short, .long], help: "Server address: host:port, :port or unix:///path (KEYQUARRY_ADDRESS).")
  var address = ClientDefaults.environment("ADDRESS") ?? "localhost:33969"

  @Option(
    name: .customLong("client-id"),
    help: "Client id sent with every call (KEYQUARRY_CLIENT_ID; default {user}@{host}).")
  var clientID = ClientDefaults.environment("CLIENT_ID")

  @Option(help: "Pretty-print JSON output with this many spaces (KEYQUARRY_INDENT).")
  var indent = ClientDefaults.environment("INDENT").flatMap { Int($0) } ?? 0

  @Option(
    name: .customLong("ca-certfile"), help: "Use TLS, verifying the server with this CA (PEM; KEYQUARRY_CA_CERTFILE).")
  var caCertfile = ClientDefaults.environment("CA_CERTFILE")

  @Option(
    name: .customLong("tls-server-name"),
    help: "Name (or IP address) the server's certificate must carry, when not the address's host (KEYQUARRY_TLS_SERVER_NAME).")
  var tlsServerName = ClientDefaults.environment("TLS_SERVER_NAME")

  @Flag(help: "Use TLS without verifying the server's certificate (KEYQUARRY_INSECURE).")
  var insecure = false

  @Flag(name: .customLong("no-tls"), help: "Force plaintext, the default (KEYQUARRY_NO_TLS).")
  var noTLS = false

  @Option(help: "Deadline of each call, e.g. 10s (KEYQUARRY_TIMEOUT).")
  var timeout = ClientDefaults.environment("TIMEOUT") ?? "10s"

  var effectiveClientID: String {
    clientID ?? ClientDefaults.clientID
  }

  /// Connects, registers (ignoring AlreadyExists, like the original client, and a server
  /// at `max_client_ids` unless `registering` is what was asked) and runs `body`. RPC errors
  /// become `rpc error: code = … desc = …` on stderr and exit status 1.
  func call<R: Sendable>(registering: Bool = false, _ body: (Connection) async throws -> R) async throws -> R {
    guard let deadline = DurationParser.parse(timeout), deadline > .zero else {
      throw ValidationError("invalid --timeout '\(timeout)'")
    }
    let (transport, target, usingTLS) = try makeTransport()
    do {
      return try await withGRPCClient(
        transport: transport, interceptors: [ClientIDHeader(clientID: effectiveClientID)]
      ) { grpc in
        var options = CallOptions.defaults
        options.timeout = deadline
        let connection = Connection(
          keyquarry: Keyquarry_KeyQuarry.Client(wrapping: grpc),
          admin: Keyquarry_Admin.Client(wrapping: grpc), options: options, indent: indent)
        do {
          _ = try await connection.keyquarry.register(Keyquarry_RegisterRequest(), options: options)
        } catch let error as RPCError
          where error.code == .alreadyExists || (error.code == .resourceExhausted && !registering)
        {}
        return try await body(connection)
      }
    } catch let error as RPCError {
      let description = await TLSFailure.explain(error, target: target, usingTLS: usingTLS) ?? error.message
      printError("rpc error: code = \(error.code.goName) desc = \(description)")
      throw ExitCode(1)
    }
  }
}

/// The two service clients and the per-call options of one CLI invocation.
struct Connection: Sendable {
  let keyquarry: Keyquarry_KeyQuarry.Client<HTTP2ClientTransport.Posix>
  let admin: Keyquarry_Admin.Client<HTTP2ClientTransport.Posix>
  let options: CallOptions
  let indent: Int
}

/// Adds the `client_id` metadata to every call.
struct ClientIDHeader: ClientInterceptor {
  let clientID: String

  func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingClientRequest<Input>,
    context: ClientContext,
    next: (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
  ) async throws -> StreamingClientResponse<Output> {
    var request = request
    request.metadata.replaceOrAddString(clientID, forKey: "client_id")
    return try await next(request, context)
  }
}

enum ClientDefaults {
  /// `KEYQUARRY_<name>`, when set and not empty.
  static func environment(_ name: String) -> String? {
    ProcessInfo.processInfo.environment["KEYQUARRY_" + name].flatMap { $0.isEmpty ? nil : $0 }
  }

  /// A flag's default: `KEYQUARRY_<name>` set to true, 1 or yes.
  static func flag(_ name: String) -> Bool {
    ["true", "1", "yes"].contains(environment(name)?.lowercased() ?? "")
  }

  /// `{user}@{hostname}`, as the original client.
  static var clientID: String {
    let user = ProcessInfo.processInfo.environment["USER"] ?? NSUserName()
    let host = ProcessInfo.processInfo.hostName
    if user.isEmpty { return host }
    if host.isEmpty { return user }
    return "\(user)@\(host)"
  }
}

extension RPCError.Code {
  /// The code's name as Go's gRPC prints it (`PermissionDenied`).
  var goName: String {
    switch self {
    case .cancelled: "Canceled"
    case .unknown: "Unknown"
    case .invalidArgument: "InvalidArgument"
    case .deadlineExceeded: "DeadlineExceeded"
    case .notFound: "NotFound"
    case .alreadyExists: "AlreadyExists"
    case .permissionDenied: "PermissionDenied"
    case .resourceExhausted: "ResourceExhausted"
    case .failedPrecondition: "FailedPrecondition"
    case .aborted: "Aborted"
    case .outOfRange: "OutOfRange"
    case .unimplemented: "Unimplemented"
    case .internalError: "Internal"
    case .unavailable: "Unavailable"
    case .dataLoss: "DataLoss"
    case .unauthenticated: "Unauthenticated"
    default: "\(self)"
    }
  }
}

func printError(_ message: String) {
  StandardStream.write(Data((message + "\n").utf8), to: STDERR_FILENO)
}
