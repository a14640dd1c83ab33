"""Memory the store frees goes back to the system: after a Clear of ~500 MB of keys the
server's RSS falls below half its peak (glibc keeps freed heap pages unless trimmed)."""
import collections
import time
import urllib.request

import grpc

KEYS, VALUE = 60_000, b"v" * 8_000  # about 500 MB with the store's own overhead


def key_value(key, value):
    key = key.encode()
    return b"\x0a" + bytes([len(key)]) + key + b"\x12" + bytes([0x80 | len(value) & 0x7F, len(value) >> 7]) + value


def rss_mb(server):
    for line in open(f"/proc/{server.process.pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024


def test_a_clear_gives_the_memory_of_its_keys_back(server):
    with grpc.insecure_channel(server.grpc) as channel:
        set_ = channel.unary_unary("/keyquarry.KeyQuarry/Set", request_serializer=None, response_deserializer=None)
        in_flight = collections.deque()
        for i in range(KEYS):
            in_flight.append(set_.future(key_value(f"memory-{i}", VALUE), metadata=(("client_id", "memory"),),
                                         timeout=60))
            if len(in_flight) >= 256:
                in_flight.popleft().result()
        for call in in_flight:
            call.result()
    peak = rss_mb(server)
    assert peak > 400, peak
    request = urllib.request.Request(server.http + "/v1/clear?force=true&client_id=memory", method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:
        assert b'"keysDeleted":"60000"' in response.read()
    deadline = time.monotonic() + 20
    while rss_mb(server) >= peak / 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert rss_mb(server) < peak / 2, (peak, rss_mb(server))
