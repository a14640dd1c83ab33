import GRPCCore
import Instrumentation
import KeyquarryProtos
import Tracing

/// The server span of one RPC, the same whether it came over gRPC or through the REST
/// gateway: named `keyquarry.KeyQuarry/Get`, with the caller and the key as attributes.
public enum RPCSpan {
  public static func start(
    _ method: MethodDescriptor, client: String?, key: String?, parent: ServiceContext
  ) -> any Span {
    let span = InstrumentationSystem.tracer.startSpan(method.fullyQualifiedMethod, context: parent, ofKind: .server)
    span.attributes["rpc.system"] = "grpc"
    span.attributes["rpc.service"] = method.service.fullyQualifiedService
    span.attributes["rpc.method"] = method.method
    if let client { span.attributes["client_id"] = client }
    if let key { span.attributes["key"] = key }
    return span
  }

  /// Ends `span` with the RPC's outcome (nil: OK).
  public static func end(_ span: any Span, _ code: RPCError.Code?) {
    span.attributes["rpc.grpc.status_code"] = code?.rawValue ?? 0
    if let code { span.setStatus(SpanStatus(code: .error, message: RPCError.Code.label(code))) }
    span.end()
  }
}

/// Request messages naming one key: the span gets it as attribute `key`.
protocol KeyedMessage {
  var key: String { get }
}

extension Keyquarry_KeyValue: KeyedMessage {}
extension Keyquarry_Key: KeyedMessage {}
extension Keyquarry_InspectRequest: KeyedMessage {}
extension Keyquarry_DeleteRequest: KeyedMessage {}
extension Keyquarry_PopRequest: KeyedMessage {}
extension Keyquarry_LockRequest: KeyedMessage {}
extension Keyquarry_UnlockRequest: KeyedMessage {}
extension Keyquarry_GetRevisionRequest: KeyedMessage {}
extension Keyquarry_KeyMetricRequest: KeyedMessage {}
