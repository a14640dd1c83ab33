"""The monitor server of a real `keyquarry serve`: /metrics read by Prometheus's own
text parser after a scripted workload, /debug/vars, the health endpoints, and the HTTP
connection rules it shares with the gateway."""
import json
import signal
import socket
import time
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import Server

MONITORED = ("--monitor-address", "127.0.0.1:0", "--prometheus", "--expvar", "--fresh")
ADMIN = {"KEYQUARRY_PRIVILEGED_CLIENT_ID": "pytest", "KEYQUARRY_SNAPSHOT_ENABLED": "true"}


@pytest.fixture
def monitored():
    instance = Server(extra_env=ADMIN, args=MONITORED)
    yield instance
    assert instance.stop() == 0


def fetch(url, method="GET", body=None, headers=None):
    """(status, body) of one HTTP request; error statuses are returned, not raised."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def samples(server):
    """{(sample name, frozenset of labels): value} of one scrape."""
    status, body = fetch(server.monitor + "/metrics")
    assert status == 200
    found = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found, name, **labels):
    return found.get((name, frozenset(labels.items())), 0)


def test_metrics_count_the_workload(monitored):
    for i in range(5):
        assert monitored.client("set", f"k{i}", "v").returncode == 0
    for _ in range(3):
        assert monitored.client("get", "k0").returncode == 0
    assert monitored.client("get", "missing").returncode != 0
    assert monitored.client("set", "k0", "again").returncode == 0
    assert fetch(monitored.http + "/v1/keys/rest", "PUT", b"x")[0] == 201
    for _ in range(2):
        assert fetch(monitored.http + "/v1/keys/rest")[0] == 200
    assert fetch(monitored.http + "/v1/keys/nothing")[0] == 404
    assert monitored.client("snapshot").returncode == 0

    found = samples(monitored)
    grpc = "keyquarry_grpc_requests_total"
    kq = {"service": "keyquarry.KeyQuarry"}
    assert value(found, grpc, **kq, method="Set", code="OK") == 6
    assert value(found, grpc, **kq, method="Get", code="OK") == 3
    assert value(found, grpc, **kq, method="Get", code="NotFound") == 1
    assert value(found, "keyquarry_grpc_request_duration_seconds_count", **kq, method="Get") == 4
    assert value(found, grpc, service="keyquarry.Admin", method="Snapshot", code="OK") == 1
    http = "keyquarry_http_requests_total"
    route = "/v1/keys/{key}"
    assert value(found, http, route=route, method="PUT", status="201") == 1
    assert value(found, http, route=route, method="GET", status="200") == 2
    assert value(found, http, route=route, method="GET", status="404") == 1
    assert value(found, "keyquarry_http_request_duration_seconds_count", route=route, method="GET", status="200") == 2
    assert value(found, "keyquarry_keys") == 6
    assert value(found, "keyquarry_total_size_bytes") == 4 * 1 + len("again") + 1
    assert value(found, "keyquarry_events_total", event="UPDATED") == 1
    assert value(found, "keyquarry_snapshots_created_total") == 1
    assert value(found, "keyquarry_snapshot_duration_seconds_count", result="ok") == 1
    assert value(found, "process_resident_memory_bytes") > 1_000_000

    # Counters move by what happened since the last scrape, never backwards.
    assert monitored.client("get", "k1").returncode == 0
    again = samples(monitored)
    assert value(again, grpc, **kq, method="Get", code="OK") == 4
    assert value(again, "keyquarry_snapshots_created_total") == 1


def test_watch_streams_are_counted_when_they_end(monitored):
    import grpc
    watch_stream = "/keyquarry.KeyQuarry/WatchStream"
    with grpc.insecure_channel(monitored.grpc) as channel:
        watch = channel.unary_stream(watch_stream, request_serializer=None, response_deserializer=None)
        updates = watch(b"", metadata=(("client_id", "pytest"),), timeout=20)
        assert monitored.client("set", "watched", "v").returncode == 0
        next(updates)  # the watch is in place and delivering
        updates.cancel()
        with pytest.raises(grpc.RpcError) as anonymous:
            list(watch(b"", timeout=5))
        assert anonymous.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    kq = {"service": "keyquarry.KeyQuarry", "method": "WatchStream"}
    deadline = time.time() + 10
    while time.time() < deadline:
        found = samples(monitored)
        if value(found, "keyquarry_grpc_requests_total", **kq, code="Cancelled") == 1:
            break
        time.sleep(0.05)
    assert value(found, "keyquarry_grpc_requests_total", **kq, code="Cancelled") == 1
    assert value(found, "keyquarry_grpc_requests_total", **kq, code="InvalidArgument") == 1
    assert value(found, "keyquarry_grpc_request_duration_seconds_count", **kq) == 2


def test_prune_metrics(monitored):
    for i in range(5):
        assert monitored.client("set", f"p{i}", "v").returncode == 0
    assert monitored.client("prune", "2").returncode == 0
    found = samples(monitored)
    assert value(found, "keyquarry_prune_completed_total") == 1
    assert value(found, "keyquarry_pruned_keys_total") == 3
    assert value(found, "keyquarry_prune_duration_seconds_count") == 1
    assert value(found, "keyquarry_events_total", event="EXPUNGED") == 3
    assert value(found, "keyquarry_keys") == 2


def test_debug_vars(monitored):
    assert monitored.client("set", "a", "1").returncode == 0
    assert monitored.client("snapshot").returncode == 0
    status, body = fetch(monitored.monitor + "/debug/vars")
    assert status == 200
    document = json.loads(body)
    assert document["keyquarry"]["keys"] == 1
    assert document["keyquarry"]["snapshots_created"] == 1
    assert document["keyquarry"]["events"]["new"] >= 1
    assert "serve" in document["cmdline"]
    assert document["memstats"]["resident_bytes"] > 0
    assert document["build"]["version"]
    # Every other path answers OK, as the original's monitor does.
    assert fetch(monitored.monitor + "/anything") == (200, b"OK")


def test_health_turns_503_while_shutting_down():
    server = Server(extra_env={"KEYQUARRY_SHUTDOWN_DELAY": "3s"}, args=MONITORED)
    try:
        status, body = fetch(server.monitor + "/readyz")
        assert status == 200 and body.startswith(b"ready\nmemory: "), body  # max_memory: half the machine's
        assert fetch(server.monitor + "/healthz")[0] == 200
        server.process.send_signal(signal.SIGTERM)
        deadline = time.time() + 2
        while fetch(server.monitor + "/readyz")[0] != 503:
            assert time.time() < deadline, "/readyz did not turn 503"
            time.sleep(0.05)
        assert fetch(server.monitor + "/healthz")[0] == 503
        assert fetch(server.http + "/healthz")[0] == 503
        # The listeners still serve during shutdown_delay: load balancers drain first.
        assert server.client("set", "late", "1").returncode == 0
        assert server.process.wait(timeout=20) == 0
    finally:
        if server.process.poll() is None:
            server.process.kill()
        server.log.close()


def test_monitor_over_tls_and_a_unix_socket(tmp_path):
    """TLS with the server's certificate when one is configured (behavior.md §9), and
    `unix://` addresses like the other listeners."""
    import socket
    import ssl
    import subprocess

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-days", "1", "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=30)
    tls = Server(
        extra_env={"KEYQUARRY_SSL_CERTFILE": str(cert), "KEYQUARRY_SSL_KEYFILE": str(key)},
        args=("--monitor-address", "127.0.0.1:0", "--expvar", "--fresh"))
    try:
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False
        url = tls.monitor.replace("http://", "https://") + "/healthz"
        with urllib.request.urlopen(url, context=context, timeout=10) as response:
            assert response.status == 200
        with pytest.raises(OSError):
            urllib.request.urlopen(tls.monitor + "/healthz", timeout=5)  # plaintext is refused
    finally:
        assert tls.stop() == 0

    path = tmp_path / "monitor.sock"
    unix = Server(args=("--monitor-address", f"unix://{path}", "--expvar", "--fresh"))
    try:
        with socket.socket(socket.AF_UNIX) as client:
            client.settimeout(10)
            client.connect(str(path))
            client.sendall(b"GET /readyz HTTP/1.1\r\nHost: monitor\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := client.recv(4096):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200") and b"\r\n\r\nready\n" in answer
    finally:
        assert unix.stop() == 0
    assert not path.exists(), "the socket file is removed on shutdown"


def test_the_monitor_closes_idle_connections_and_answers_unparsable_requests():
    from test_gateway_wire import read_responses, read_until_closed

    server = Server(extra_env={"KEYQUARRY_HTTP_IDLE_TIMEOUT": "1s"}, args=MONITORED)
    try:
        host, port = server.monitor.removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=10) as idle, \
                socket.create_connection((host, int(port)), timeout=10) as big:
            started = time.time()
            idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            assert read_responses(idle, 1)[0][0] == 200
            big.sendall(b"GET /metrics HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 90_000 + b"\r\n\r\n")
            status, headers, body = read_responses(big, 1)[0]
            assert status == 431 and headers["connection"] == "close" and json.loads(body)["code"] == 3
            assert read_until_closed(idle, started + 5) == b"" and time.time() - started >= 0.9
    finally:
        assert server.stop() == 0
