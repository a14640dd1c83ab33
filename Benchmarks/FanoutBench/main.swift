// Watch fan-out: N watchers of one key, each on its own connection (gRPC: or --streams
// of them sharing one, as a gRPC client multiplexes its calls), then one write; how long
// until every watcher has the event? The same client for every system, compiled and on
// one event loop, so that the figure is the server's rather than the client's.
//
// --target is the gRPC address (the write always goes over gRPC: etcd's Put, keyquarry's
// Set); --http is keyquarry's REST gateway, for SSE and for the subscriber count that
// tells when every keyquarry watch is in place (etcd confirms each watch itself).
// Prints one line per round and a MEDIAN line: all_ms (the last watcher), p50_ms, p99_ms,
// first_ms, put_ms, client_cpu_ms, setup_s.
//
// --load N instead sets N keys through --target and exits (the bench's key loading).
// --serve-floor serves the fan-out floor at --target (see Floor.swift), which
// --system floor measures: one plain write per watcher's connection, no protocol.
import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP2
import NIOPosix

struct Options: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "FanoutBench", abstract: "Time one update's fan-out to many watchers.")

  @Option(help: "etcd, keyquarry-grpc, keyquarry-sse or floor.") var system = System.etcd
  @Option(help: "The gRPC address.") var target = "127.0.0.1:2379"
  @Option(help: "keyquarry's REST gateway.") var http = "127.0.0.1:33971"
  @Option(name: .customShort("n"), help: "Watchers.") var watchers = 1000
  @Option(help: "gRPC watchers per connection, each on its own stream (SSE: always 1).") var streams = 1
  @Option var rounds = 5
  @Option(help: "Seconds; the watches must be in place within half of it.") var deadline = 240.0
  @Option(help: "Instead: set this many keys \"key:%012d\" to 100-byte values, and exit.") var load = 0
  @Flag(help: "Instead: serve the fan-out floor at --target for -n watchers, until its trigger closes.")
  var serveFloor = false

  func validate() throws {
    // Until a server's SETTINGS arrive, HTTP/2 holds a client to 100 open streams.
    guard (1...100).contains(streams) else { throw ValidationError("--streams must be 1 to 100") }
    if system == .keyquarrySSE || system == .floor, streams != 1 {
      throw ValidationError("\(system.rawValue) has one watcher per connection")
    }
    if system == .floor, load > 0 { throw ValidationError("the floor has no keys to load") }
  }
}

extension System: ExpressibleByArgument {}

func hostAndPort(_ address: String) throws -> (String, Int) {
  guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
    throw BenchError("bad address \(address)")
  }
  return (String(address[..<colon]), port)
}

/// `future`'s value, or an error once `seconds` have passed.
func within<T: Sendable>(_ seconds: Double, _ what: String, _ future: EventLoopFuture<T>) async throws -> T {
  let bounded = future.eventLoop.makePromise(of: T.self)
  let timer = future.eventLoop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) {
    bounded.fail(BenchError("timed out: \(what)"))
  }
  future.whenComplete { result in
    timer.cancel()
    bounded.completeWith(result)
  }
  return try await bounded.futureResult.get()
}

func cpuMilliseconds() -> Double {
  var time = timespec()
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
  return Double(time.tv_sec) * 1e3 + Double(time.tv_nsec) / 1e6
}

let options = Options.parseOrExit()
let key: [UInt8] = Array("bench-watch-key1".utf8)
let keyquarry = options.system == .keyquarryGRPC || options.system == .keyquarrySSE
let (grpcHost, grpcPort) = try hostAndPort(options.target)
if options.serveFloor { try Floor.serve(host: grpcHost, port: grpcPort, watchers: options.watchers) }
let (httpHost, httpPort) = try hostAndPort(options.http)
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let loop = group.next()
let recorder = Recorder(watchers: options.watchers, rounds: options.rounds, loop: loop)
let clientID = keyquarry ? "bench-watch" : nil

func connect(_ host: String, _ port: Int, _ handlers: @escaping @Sendable (Channel) throws -> Void) async throws -> Channel {
  try await ClientBootstrap(group: loop)
    .channelOption(.socketOption(.tcp_nodelay), value: 1)
    .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try handlers(channel) } }
    .connect(host: host, port: port).get()
}

func subscribers() async throws -> Int {
  let done = loop.makePromise(of: String.self)
  let request = ByteBuffer(string: "GET /v1/stats HTTP/1.1\r\nHost: \(options.http)\r\n\r\n")
  _ = try await connect(httpHost, httpPort) { try $0.pipeline.syncOperations.addHandler(HTTPGetter(request: request, done: done)) }
  let body = try await done.futureResult.get()
  let stats = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
  return Int("\(stats?["eventSubscribers"] ?? "")") ?? 0  // int64 in proto3 JSON: a string
}

// The writer's connection (gRPC, or the floor's trigger), and a first write so that the key exists.
let caller = UnaryCaller()
let trigger = FloorTrigger(on: loop)
let callerChannel = try await connect(grpcHost, grpcPort) { channel in
  if options.system == .floor { return try channel.pipeline.syncOperations.addHandler(trigger) }
  try channel.pipeline.syncOperations.addHandler(NIOHTTP2Handler(mode: .client))
  try channel.pipeline.syncOperations.addHandler(caller)
}
let putHeaders = Wire.requestHeaders(
  path: keyquarry ? "/keyquarry.KeyQuarry/Set" : "/etcdserverpb.KV/Put", authority: options.target, clientID: clientID)
func put(_ round: Int) async throws {
  let promise = loop.makePromise(of: Void.self)
  if options.system == .floor {
    loop.execute { trigger.round(promise: promise) }
  } else {
    let value = Array(("\(round):" + String(repeating: "x", count: 100)).utf8.prefix(100))
    let body = Wire.frame(Wire.field(1, key) + Wire.field(2, value))  // KeyValue / PutRequest: key 1, value 2
    loop.execute { caller.call(headers: putHeaders, body: body, promise: promise) }
  }
  try await within(10, "write \(round)", promise.futureResult)
}
if options.load > 0 {
  let started = ContinuousClock.now
  let loader = KeyLoader(count: options.load, caller: caller, headers: putHeaders, on: loop)
  try await within(options.deadline, "loading \(options.load) keys", loop.flatSubmit { loader.run(inFlight: 100) })
  print("loaded \(options.load) keys of 100 B in \(ContinuousClock.now - started)")
  try await callerChannel.close().get()
  try await group.shutdownGracefully()
  exit(0)
}
if options.system != .floor { try await put(-1) }
let baseSubscribers = keyquarry ? try await subscribers() : 0

// The watchers' connections, opened a hundred at a time (a server's accept backlog is finite).
let setupStarted = ContinuousClock.now
let connections = (options.watchers + options.streams - 1) / options.streams
var watchers: [Channel] = []
for first in stride(from: 0, to: connections, by: 100) {
  watchers += try await withThrowingTaskGroup(of: Channel.self) { batch in
    for connection in first..<min(first + 100, connections) {
      let indices = connection * options.streams..<min((connection + 1) * options.streams, options.watchers)
      batch.addTask {
        switch options.system {
        case .floor:
          return try await connect(grpcHost, grpcPort) {
            try $0.pipeline.syncOperations.addHandler(FloorWatcher(index: indices.lowerBound, recorder: recorder))
          }
        case .keyquarrySSE:
          let request = ByteBuffer(
            string: "GET /v1/events?keys=\(String(decoding: key, as: UTF8.self)) HTTP/1.1\r\nHost: \(options.http)\r\n"
              + "Accept: text/event-stream\r\nClient-Id: bench-watch\r\n\r\n")
          return try await connect(httpHost, httpPort) {
            try $0.pipeline.syncOperations.addHandler(
              SSEWatcher(index: indices.lowerBound, recorder: recorder, request: request))
          }
        case .keyquarryGRPC, .etcd:
          let path = keyquarry ? "/keyquarry.KeyQuarry/WatchStream" : "/etcdserverpb.Watch/Watch"
          // WatchStreamRequest{keys: 1}; WatchRequest{create_request: 1 {key: 1}}
          let request = Wire.frame(keyquarry ? Wire.field(1, key) : Wire.field(1, Wire.field(1, key)))
          let headers = Wire.requestHeaders(path: path, authority: options.target, clientID: clientID)
          return try await connect(grpcHost, grpcPort) { channel in
            // Windows that a run's events never fill: the watchers read but never replenish them.
            try channel.pipeline.syncOperations.addHandler(
              NIOHTTP2Handler(mode: .client, initialSettings: nioDefaultSettings + [HTTP2Setting(parameter: .initialWindowSize, value: 1 << 24)]))
            try channel.pipeline.syncOperations.addHandler(
              GRPCWatchers(indices: indices, system: options.system, recorder: recorder, headers: headers, request: request))
          }
        }
      }
    }
    var connected: [Channel] = []
    for try await channel in batch { connected.append(channel) }
    return connected
  }
}
if keyquarry {
  while try await subscribers() - baseSubscribers < options.watchers {
    if ContinuousClock.now - setupStarted > .seconds(options.deadline / 2) { throw BenchError("timed out: watches") }
    try await Task.sleep(for: .milliseconds(50))
  }
} else {
  let ready = options.system == .floor ? trigger.ready : recorder.allCreated
  try await within(options.deadline / 2, "every watch in place", ready.futureResult)
}
let setup = ContinuousClock.now - setupStarted
print("\(options.watchers) watchers on \(connections) connections in \(setup)")
try await Task.sleep(for: .milliseconds(500))

struct Round { var first, p50, p99, last, put, cpu: Double }
var rounds: [Round] = []
try await loop.submit { recorder.armed = true }.get()
for round in 0..<options.rounds {
  try await Task.sleep(for: .milliseconds(300))
  let cpu = cpuMilliseconds()
  let started = NIODeadline.now().uptimeNanoseconds
  try await put(round)
  let putMs = Double(NIODeadline.now().uptimeNanoseconds - started) / 1e6
  try await within(30, "round \(round)", recorder.roundsDone[round].futureResult)
  let latencies = try await loop.submit {
    recorder.arrivals.map { Double($0[round] - started) / 1e6 }.sorted()
  }.get()
  let row = Round(
    first: latencies[0], p50: latencies[latencies.count / 2],
    p99: latencies[min(latencies.count - 1, latencies.count * 99 / 100)], last: latencies[latencies.count - 1],
    put: putMs, cpu: cpuMilliseconds() - cpu)
  rounds.append(row)
  print(String(format: "round %d: put %.2f ms; event at watchers first %.2f p50 %.2f p99 %.2f all %.2f ms; client CPU %.1f ms",
    round + 1, row.put, row.first, row.p50, row.p99, row.last, row.cpu))
}
@MainActor func median(_ value: (Round) -> Double) -> Double {
  let sorted = rounds.map(value).sorted()
  return sorted[sorted.count / 2]
}
let setupSeconds = Double(setup.components.seconds) + Double(setup.components.attoseconds) / 1e18
print(String(format: "MEDIAN\twatch fan-out %@ N=%d\tstreams=%d\trounds=%d\tall_ms=%.2f\tp50_ms=%.2f\tp99_ms=%.2f\tfirst_ms=%.2f\tput_ms=%.2f\tclient_cpu_ms=%.1f\tsetup_s=%.2f",
  options.system.rawValue, options.watchers, options.streams, options.rounds, median(\.last), median(\.p50), median(\.p99),
  median(\.first), median(\.put), median(\.cpu), setupSeconds))
for channel in watchers + [callerChannel] { channel.close(promise: nil) }
try await group.shutdownGracefully()
