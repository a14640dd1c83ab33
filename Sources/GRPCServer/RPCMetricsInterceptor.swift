import GRPCCore
import KeyquarryProtos
import Metrics
import Synchronization

/// The request series of every served method (swift-metrics, exported by the monitor
/// server), made up front so that recording only looks up an immutable table. Both the
/// interceptor and the transport's direct methods record into it.
final class RPCMetrics: Sendable {
  private let methods: [MethodDescriptor: MethodMetrics]

  init(methods descriptors: [MethodDescriptor]) {
    methods = Dictionary(uniqueKeysWithValues: descriptors.map { ($0, MethodMetrics($0)) })
  }

  subscript(method: MethodDescriptor) -> MethodMetrics { methods[method] ?? MethodMetrics(method) }
}

/// Counts every RPC that GRPCServer runs by method and status code and records its duration.
struct RPCMetricsInterceptor: ServerInterceptor {
  let metrics: RPCMetrics

  func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws
      -> StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    let metrics = metrics[context.descriptor]
    let start = ContinuousClock.now
    do {
      return try await next(request, context).onCompletion { code in
        metrics.record(code, duration: ContinuousClock.now - start)
      }
    } catch {
      metrics.record(rpcCode(of: error), duration: ContinuousClock.now - start)
      throw error
    }
  }
}

/// One method's duration histogram and its per-status counters.
final class MethodMetrics: Sendable {
  private let dimensions: [(String, String)]
  private let duration: Timer
  private let succeeded: Counter
  private let failed = Mutex<[Int: Counter]>([:])

  init(_ method: MethodDescriptor) {
    dimensions = [("service", method.service.fullyQualifiedService), ("method", method.method)]
    duration = Timer(label: "keyquarry_grpc_request_duration_seconds", dimensions: dimensions)
    succeeded = Counter(label: "keyquarry_grpc_requests_total", dimensions: dimensions + [("code", "OK")])
  }

  func record(_ code: RPCError.Code?, duration elapsed: Duration) {
    duration.record(duration: elapsed)
    guard let code else { return succeeded.increment() }
    let counter = failed.withLock { counters in
      if let counter = counters[code.rawValue] { return counter }
      let counter = Counter(
        label: "keyquarry_grpc_requests_total", dimensions: dimensions + [("code", RPCError.Code.label(code))])
      counters[code.rawValue] = counter
      return counter
    }
    counter.increment()
  }
}
