import Instrumentation
import OTel
import ServiceLifecycle
import Tracing

/// The OpenTelemetry trace exporter (swift-otel), configured by the standard
/// `OTEL_EXPORTER_OTLP_*` and `OTEL_BSP_*` variables; OTLP over gRPC unless
/// `OTEL_EXPORTER_OTLP_PROTOCOL` says otherwise. Logs and metrics are not exported.
public enum TracingBackend {
  /// Installs the tracer for the process and returns the exporter's service, which
  /// flushes the last spans when the group stops.
  public static func bootstrap(serviceName: String, version: String) throws -> some Service {
    var configuration = OTel.Configuration.default
    configuration.serviceName = serviceName
    configuration.resourceAttributes["service.version"] = version
    configuration.traces.otlpExporter.protocol = .grpc
    configuration.metrics.enabled = false
    configuration.logs.enabled = false
    let backend = try OTel.makeTracingBackend(configuration: configuration)
    InstrumentationSystem.bootstrap(backend.factory)
    return backend.service
  }
}
