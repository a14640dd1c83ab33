import CoreMetrics
import Prometheus

/// The process-wide swift-metrics backend: a Prometheus registry that the monitor server
/// exposes. Durations get buckets from 50 µs (an in-memory Get) to a minute (a snapshot).
public enum MetricsBackend {
  /// Installs the registry as the swift-metrics backend; call once, before serving.
  public static func bootstrap() -> PrometheusCollectorRegistry {
    let registry = PrometheusCollectorRegistry()
    var factory = PrometheusMetricsFactory(registry: registry)
    factory.defaultDurationHistogramBuckets = [
      .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
      .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(25),
      .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
      .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
    ]
    factory.nameAndLabelSanitizer = { name, labels in
      (renamed[name] ?? name.replacing(".", with: "_"), labels.map { (renamed[$0.0] ?? $0.0, $0.1) })
    }
    MetricsSystem.bootstrap(factory)
    return registry
  }

  /// Hummingbird's request metrics under keyquarry's names and short label names.
  private static let renamed = [
    "hb.requests": "keyquarry_http_requests_total",
    "hb.request.errors": "keyquarry_http_request_errors_total",
    "http.server.request.duration": "keyquarry_http_request_duration_seconds",
    "http.server.active_requests": "keyquarry_http_active_requests",
    "http.route": "route",
    "http.request.method": "method",
    "http.response.status_code": "status",
    "error.type": "status",
  ]
}
