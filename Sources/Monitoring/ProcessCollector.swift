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
    resident = registry.makeGauge(name: "process_resident_memory_bytes", help: "Resident memory size in bytes.")
    virtual = registry.makeGauge(name: "process_virtual_memory_bytes", help: "Virtual memory size in bytes.")
    openFiles = registry.makeGauge(name: "process_open_fds", help: "Number of open file descriptors.")
    threads = registry.makeGauge(name: "process_threads", help: "Number of OS threads.")
    cpu = registry.makeCounter(name: "process_cpu_seconds_total", help: "Total user and system CPU time in seconds.")
    registry.makeGauge(name: "process_start_time_seconds", help: "Start time of the process since the Unix epoch.")
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
