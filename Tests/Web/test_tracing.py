"""Spans exported by a real `keyquarry serve --trace` over OTLP/gRPC to a receiver run
by the test: one per RPC and one per REST request, sharing the caller's trace id."""
import os
import signal
import threading
import urllib.request
from concurrent import futures

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from conftest import Server


class Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self):
        self.spans = []
        self.resources = []
        self.lock = threading.Lock()

    def Export(self, request, context):
        with self.lock:
            for resource_spans in request.resource_spans:
                self.resources.append(resource_spans.resource)
                for scope in resource_spans.scope_spans:
                    self.spans.extend(scope.spans)
        return trace_service_pb2.ExportTraceServiceResponse()


def attributes(span):
    return {a.key: a.value.string_value or a.value.int_value for a in span.attributes}


def test_one_span_per_call_with_the_callers_trace():
    receiver = Receiver()
    grpc_server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(receiver, grpc_server)
    port = grpc_server.add_insecure_port("127.0.0.1:0")
    grpc_server.start()
    server = Server(
        extra_env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "KEYQUARRY_SERVICE_NAME": "kq-under-test",
        },
        args=("--trace", "--fresh"))
    try:
        assert server.client("set", "traced", "v", client_id="tracer").returncode == 0
        trace_id = os.urandom(16)
        parent_id = os.urandom(8)
        request = urllib.request.Request(
            server.http + "/v1/keys/traced",
            headers={"traceparent": f"00-{trace_id.hex()}-{parent_id.hex()}-01", "Client-Id": "browser"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.read() == b"v"
    finally:
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=20) == 0  # the exporter flushes on shutdown
        server.log.close()
        grpc_server.stop(0)

    names = [span.name for span in receiver.spans]
    service_names = {a.value.string_value for r in receiver.resources for a in r.attributes if a.key == "service.name"}
    assert service_names == {"kq-under-test"}

    # The gRPC Set: one server span, with the key and the caller.
    sets = [s for s in receiver.spans if s.name == "keyquarry.KeyQuarry/Set"]
    assert len(sets) == 1, names
    assert attributes(sets[0])["key"] == "traced"
    assert attributes(sets[0])["client_id"] == "tracer"
    assert attributes(sets[0])["rpc.grpc.status_code"] == 0

    # The REST GET: its span continues the caller's trace, and the RPC span it made is its child.
    in_trace = [s for s in receiver.spans if s.trace_id == trace_id]
    assert len(in_trace) == 2, [(s.name, s.trace_id.hex()) for s in receiver.spans]
    rest = next(s for s in in_trace if s.parent_span_id == parent_id)
    rpc = next(s for s in in_trace if s is not rest)
    assert rest.name == "/v1/keys/{key}"
    assert rpc.name == "keyquarry.KeyQuarry/Inspect"
    assert rpc.parent_span_id == rest.span_id
    assert attributes(rpc)["key"] == "traced"
    assert attributes(rpc)["client_id"] == "browser"
