import GRPCCore
import Instrumentation
import Tracing

/// A server span for every RPC, continuing the caller's trace from W3C `traceparent`
/// metadata; handlers and the response stream run inside it.
struct RPCTracingInterceptor: ServerInterceptor {
  func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws
      -> StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    var parent = ServiceContext.current ?? .topLevel
    InstrumentationSystem.instrument.extract(request.metadata, into: &parent, using: MetadataExtractor())
    let span = RPCSpan.start(
      context.descriptor, client: request.metadata[stringValues: "client_id"].first { _ in true }, key: nil,
      parent: parent)
    var request = request
    let messages = request.messages
    request.messages = RPCAsyncSequence(
      wrapping: messages.map { message in
        if let keyed = message as? any KeyedMessage { span.attributes["key"] = keyed.key }
        return message
      })
    do {
      let response = try await ServiceContext.withValue(span.context) { try await next(request, context) }
      return response.onCompletion(around: { body in
        try await ServiceContext.withValue(span.context) { try await body() }
      }) { code in
        RPCSpan.end(span, code)
      }
    } catch {
      RPCSpan.end(span, rpcCode(of: error))
      throw error
    }
  }
}

/// Reads W3C trace context (`traceparent`, `tracestate`, `baggage`) from gRPC metadata.
private struct MetadataExtractor: Extractor {
  func extract(key: String, from carrier: Metadata) -> String? {
    carrier[stringValues: key].first { _ in true }
  }
}
