import Foundation
import Prometheus
import Synchronization

/// The standard `process_*` series of Prometheus client libraries, read at each scrape.
final class ProcessCollector: Sendable {
  private let resident: Gauge
  private let virtual: Gauge
  private let openFiles: Gauge
  private let threads: Gauge
  private let cpu: Counter
  private let cpuSoFar = Mutex(0.0)

  init(registry: PrometheusCollectorRegistry) {
    func series(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
      MetricNameDescriptor(namespace: "process", metricName: name, unitName: unit, helpText: help)
    }
    resident = registry.makeGauge(descriptor: series("resident_memory", "bytes", "Resident memory size in bytes."))
    virtual = registry.makeGauge(descriptor: series("virtual_memory", "bytes", "Virtual memory size in bytes."))
    openFiles = registry.makeGauge(descriptor: series("open_fds", "", "Number of open file descriptors."))
    threads = registry.makeGauge(descriptor: series("threads", "", "Number of OS threads."))
    cpu = registry.makeCounter(
      descriptor: series("cpu", "seconds_total", "Total user and system CPU time in seconds."))
    registry.makeGauge(descriptor: series("start_time", "seconds", "Start time of the process since the Unix epoch."))
      .set(ProcessFigures.startTime.timeIntervalSince1970)
  }

  func update() {
    let figures = ProcessFigures.current()
    resident.set(figures.residentBytes)
    virtual.set(figures.virtualBytes)
    openFiles.set(figures.openFiles)
    threads.set(figures.threads)
    cpuSoFar.withLock { soFar in
      if figures.cpuSeconds > soFar { cpu.increment(by: figures.cpuSeconds - soFar) }
      soFar = max(soFar, figures.cpuSeconds)
    }
  }
}
