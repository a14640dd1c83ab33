/// What the servers record for the monitor server and the trace exporter. Each costs a
/// little on every call, so each is off unless configured.
public struct Telemetry: Sendable, Equatable {
  /// Request counts and durations through swift-metrics.
  public var metrics = false
  /// A span per RPC and per REST request through swift-distributed-tracing.
  public var tracing = false

  public init(metrics: Bool = false, tracing: Bool = false) {
    self.metrics = metrics
    self.tracing = tracing
  }
}
