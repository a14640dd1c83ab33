import Core
import GRPCCore
import KeyquarryProtos
import SwiftProtobuf

/// A unary RPC answered on the connection's event loop. Each is one store call that never
/// waits, so the task, executor hops and per-call machinery of running it through
/// GRPCServer would cost far more than the call; the transport runs it in place instead.
/// WatchStream is direct too (`DirectWatch`); everything else (WatchKeyValue, calls that
/// visit every shard, Admin) goes through GRPCServer.
struct DirectMethod: Sendable {
  let descriptor: MethodDescriptor
  /// Validates the `client_id` header, decodes the request, calls the service, encodes the response.
  let call: @Sendable (_ request: PrefixedMessage, _ clientID: String?) throws -> PrefixedMessage
  var metrics: MethodMetrics?
  /// For a write under `durability: always`: calls back once the write is on disk.
  var whenDurable: (@Sendable (@escaping @Sendable (Bool) -> Void) -> Void)?

  init<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
    _ descriptor: MethodDescriptor, _ body: @escaping @Sendable (Request, String) throws -> Response
  ) {
    self.descriptor = descriptor
    call = { message, clientID in
      let client = try ClientID.validate(clientID)
      return try body(try message.decoded(), client).serializedBytes()
    }
  }
}

extension PrefixedMessage {
  func decoded<Request: SwiftProtobuf.Message>() throws -> Request {
    do {
      return try Request(serializedBytes: self)
    } catch {
      throw RPCError(
        code: .invalidArgument, message: "can't decode the request as \(Request.protoMessageName)", cause: error)
    }
  }
}

/// What the transport serves itself, by HTTP/2 `:path`.
enum DirectRoute: Sendable {
  case unary(DirectMethod)
  case watch(DirectWatch)
}

extension KeyQuarryService {
  /// The direct methods and WatchStream by HTTP/2 `:path`.
  func directRoutes(metrics: RPCMetrics?) -> [String: DirectRoute] {
    typealias M = Keyquarry_KeyQuarry.Method
    let writes: Set<String> = [
      M.Set.descriptor, M.Delete.descriptor, M.Pop.descriptor, M.Lock.descriptor, M.Unlock.descriptor,
      M.Register.descriptor,
    ].reduce(into: []) { $0.insert($1.fullyQualifiedMethod) }
    let methods = [
      DirectMethod(M.Get.descriptor, get(_:by:)),
      DirectMethod(M.Set.descriptor, set(_:by:)),
      DirectMethod(M.Inspect.descriptor, inspect(_:by:)),
      DirectMethod(M.Exists.descriptor, exists(_:by:)),
      DirectMethod(M.Delete.descriptor, delete(_:by:)),
      DirectMethod(M.Pop.descriptor, pop(_:by:)),
      DirectMethod(M.Lock.descriptor, lock(_:by:)),
      DirectMethod(M.Unlock.descriptor, unlock(_:by:)),
      DirectMethod(M.GetRevision.descriptor, getRevision(_:by:)),
      DirectMethod(M.GetKeyMetric.descriptor) { request, _ in try getKeyMetric(request) },
      DirectMethod(M.Register.descriptor) { (_: Keyquarry_RegisterRequest, client) in try register(by: client) },
    ]
    var routes = Dictionary(
      uniqueKeysWithValues: methods.map { method in
        var method = method
        method.metrics = metrics?[method.descriptor]
        if store.waitsForJournal, writes.contains(method.descriptor.fullyQualifiedMethod) {
          method.whenDurable = store.whenDurable
        }
        return (Self.path(method.descriptor), DirectRoute.unary(method))
      })
    routes[Self.path(M.WatchStream.descriptor)] = .watch(directWatch(metrics: metrics))
    return routes
  }

  private static func path(_ method: MethodDescriptor) -> String { "/" + method.fullyQualifiedMethod }
}
