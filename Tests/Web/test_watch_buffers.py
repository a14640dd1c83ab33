"""Watchers that stop reading are bounded in bytes, not only in events: past
`watch_buffer_limit` a watcher is ended at once, past `watch_buffer_total` the watchers
with the most waiting are ended first, and what they held is let go."""
import collections
import socket
import time
import urllib.request

import grpc

from conftest import Server
from test_grpc_wire import RawConnection, frame, key, key_value, message, stats_subscribers, status

METADATA = (("client_id", "buffers"),)


def rss_mb(server):
    for line in open(f"/proc/{server.process.pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024


def metric(server, name):
    text = urllib.request.urlopen(server.monitor + "/metrics", timeout=10).read().decode()
    values = [float(line.split()[1]) for line in text.splitlines() if line.startswith(name + " ")]
    assert values, name
    return values[0]


def set_many(channel, pairs):
    """Sets, 256 in flight."""
    set_ = channel.unary_unary("/keyquarry.KeyQuarry/Set", request_serializer=None, response_deserializer=None)
    in_flight = collections.deque()
    for name, value in pairs:
        in_flight.append(set_.future(key_value(name, value), metadata=METADATA, timeout=60))
        if len(in_flight) >= 256:
            in_flight.popleft().result()
    for call in in_flight:
        call.result()


def stalled_sse(server, path):
    """A watch over SSE whose client never reads."""
    host, port = server.http.removeprefix("http://").rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.sendall(f"GET {path}?client_id=stalled HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
    return sock


def test_stalled_watchers_are_held_to_the_total_and_the_slowest_ended():
    server = Server(extra_env={"KEYQUARRY_WATCH_BUFFER_TOTAL": "8MiB"},
                    args=("--monitor-address", "127.0.0.1:0", "--prometheus", "--fresh"))
    connections, sockets = [], []
    try:
        with grpc.insecure_channel(server.grpc) as channel:
            for _ in range(40):  # WatchStream of every event, on connections that never read
                connection = RawConnection(server.grpc)
                connection.send(connection.start("/keyquarry.KeyQuarry/WatchStream", client_id="stalled"), frame(b""))
                connections.append(connection)
            sockets = [stalled_sse(server, "/v1/events") for _ in range(20)]
            deadline = time.monotonic() + 20
            while stats_subscribers(channel) < 60 and time.monotonic() < deadline:
                time.sleep(0.05)
            before = rss_mb(server)
            set_many(channel, ((f"buffers-{i}", b"v" * 1000) for i in range(6_000)))
            grown = rss_mb(server) - before
            assert metric(server, "keyquarry_watch_buffer_bytes") <= 8 << 20
            ended = metric(server, "keyquarry_slow_watchers_ended_total")
            assert ended >= 20, ended
            assert stats_subscribers(channel) == 60 - ended
            # 6,000 events held back for each of 40 gRPC watchers took about 50 MB before
            # the byte limits; the keys themselves take about 10.
            assert grown < 45, grown
    finally:
        for connection in connections:
            connection.close()
        for sock in sockets:
            sock.close()
        server.stop()


def test_a_value_watcher_past_its_byte_limit_is_ended_at_once():
    server = Server(extra_env={"KEYQUARRY_WATCH_BUFFER_LIMIT": "4MiB", "KEYQUARRY_WATCH_BUFFER_SOFT_LIMIT": "0"},
                    args=("--fresh",))
    stalled = RawConnection(server.grpc)
    sse = stalled_sse(server, "/v1/keys/hot/watch")
    try:
        stream = stalled.start("/keyquarry.KeyQuarry/WatchKeyValue", client_id="stalled")
        stalled.send(stream, frame(key("hot")))
        with grpc.insecure_channel(server.grpc) as channel:
            deadline = time.monotonic() + 20
            while stats_subscribers(channel) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            # 200 values of 100 KB: 20 MB that would all have waited for each watcher.
            set_many(channel, (("hot", bytes([i]) * 100_000) for i in range(200)))
            assert stats_subscribers(channel) == 0, "both ended past 4 MiB"
        ended = stalled.wait(stream)
        assert status(ended) == 8, ended
        assert "watcher too slow" in message(ended)
    finally:
        sse.close()
        stalled.close()
        server.stop()
