"""max_memory: past it, writes that add data are refused (RESOURCE_EXHAUSTED, 507) while
reads and deletes go on, and writes work again once memory is freed; with
`max_memory_policy: prune` the stalest keys make room instead. Stats, /metrics and
/readyz show the pressure."""
import json
import time
import urllib.error
import urllib.request

import grpc
import pytest

from conftest import Server
from test_grpc_wire import key, key_value, read_bytes_field

METADATA = (("client_id", "memory"),)
VALUE = b"m" * 10_000


def unary(channel, method):
    return channel.unary_unary(f"/keyquarry.KeyQuarry/{method}", request_serializer=None, response_deserializer=None)


def fill(channel, limit):
    """Sets 10 KB values until one is refused; the number set."""
    for i in range(limit):
        try:
            unary(channel, "Set")(key_value(f"fill-{i}", VALUE), metadata=METADATA, timeout=10)
        except grpc.RpcError as error:
            return i, error
    return limit, None


def http(server, method, path, body=None):
    request = urllib.request.Request(server.http + path, data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture
def limited():
    server = Server(extra_env={"KEYQUARRY_MAX_MEMORY": "64MiB"},
                    args=("--monitor-address", "127.0.0.1:0", "--prometheus", "--fresh"))
    yield server
    server.stop()


def test_past_max_memory_writes_are_refused_and_reads_and_deletes_go_on(limited):
    with grpc.insecure_channel(limited.grpc) as channel:
        written, error = fill(channel, 20_000)  # 200 MB if nothing stopped it
        assert error is not None, "never refused"
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "max_memory" in error.details()
        assert 5_500 < written < 7_000, written  # 64 MiB of 10 KB values and their keys' records
        status, body = http(limited, "PUT", "/v1/keys/more?client_id=memory", b"value")
        assert status == 507, (status, body)
        assert json.loads(body)["code"] == 8
        assert read_bytes_field(unary(channel, "Get")(key("fill-0"), metadata=METADATA, timeout=10), 1) == VALUE
        status, body = http(limited, "GET", "/v1/stats?client_id=memory")
        pressure = json.loads(body)["pressure"]
        assert pressure["maxMemory"] == str(64 << 20) and pressure["memoryPressure"] >= 1, pressure
        metrics = urllib.request.urlopen(limited.monitor + "/metrics", timeout=10).read().decode()
        assert f"keyquarry_max_memory_bytes {64 << 20}" in metrics
        status, body = http(limited, "GET", "/readyz")
        assert status == 200 and b"of max_memory" in body, body
        # Deletes go on, and once memory is freed writes work again.
        status, _ = http(limited, "POST", "/v1/clear?force=true&client_id=memory")
        assert status == 200
        deadline = time.monotonic() + 10
        while True:
            try:
                unary(channel, "Set")(key_value("after", b"v"), metadata=METADATA, timeout=10)
                break
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                assert time.monotonic() < deadline, "writes stayed refused after a Clear"
                time.sleep(0.1)


def test_the_prune_policy_makes_room_instead():
    server = Server(extra_env={"KEYQUARRY_MAX_MEMORY": "64MiB", "KEYQUARRY_MAX_MEMORY_POLICY": "prune"},
                    args=("--fresh",))
    try:
        with grpc.insecure_channel(server.grpc) as channel:
            for i in range(10_000):  # 100 MB of values
                unary(channel, "Set")(key_value(f"fill-{i}", VALUE), metadata=METADATA, timeout=10)
        status, body = http(server, "GET", "/v1/stats?client_id=memory")
        stats = json.loads(body)
        assert int(stats["keys"]) < 6_600, stats["keys"]
        assert int(stats["events"].get("expunged", 0)) > 3_000, stats["events"]
        status, body = http(server, "GET", "/v1/keys/fill-9999?client_id=memory")
        assert status == 200, "the newest key was kept"
    finally:
        server.stop()
