"""A lock keeps a value from other clients' value watches too, over gRPC and SSE alike: no
byte such a watcher receives holds the value, while the lock owner's own watch gets it."""
import http.client
import threading
import time
import urllib.parse

import grpc

from conftest import Server
from test_grpc_wire import fields, key, key_value, varint

SECRET = b"s3cret"


def field_varint(number, value):
    return varint(number << 3) + varint(value)


class GrpcWatch(threading.Thread):
    """WatchKeyValue as `client`, every raw message kept."""

    def __init__(self, server, client):
        super().__init__(daemon=True)
        self.channel = grpc.insecure_channel(server.grpc)
        call = self.channel.unary_stream(
            "/keyquarry.KeyQuarry/WatchKeyValue", request_serializer=None, response_deserializer=None)
        self.stream = call(key("k"), metadata=(("client_id", client),), timeout=30)
        self.messages = []
        self.start()

    def run(self):
        try:
            for message in self.stream:
                self.messages.append(message)
        except grpc.RpcError:
            pass

    def events(self):
        """(event number, value) of each message."""
        return [(dict(fields(m)).get(6), dict(fields(m)).get(2, b"")) for m in self.messages]

    def stop(self):
        self.stream.cancel()
        self.channel.close()


class SSEWatch(threading.Thread):
    """GET /v1/keys/k/watch as `client`, every byte kept."""

    def __init__(self, server, client):
        super().__init__(daemon=True)
        host = urllib.parse.urlparse(server.http)
        self.connection = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
        self.connection.request("GET", "/v1/keys/k/watch", headers={"Client-Id": client})
        self.response = self.connection.getresponse()
        self.received = b""
        self.start()

    def run(self):
        try:
            while chunk := self.response.read1(65536):
                self.received += chunk
        except (OSError, ValueError, AttributeError, http.client.HTTPException):  # stopped mid-read
            pass

    def stop(self):
        self.connection.sock.shutdown(2)
        self.connection.close()


def wait_for(condition, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline and not condition():
        time.sleep(0.05)
    return condition()


def test_a_locked_value_reaches_no_other_watcher_over_grpc_or_sse():
    server = Server(extra_env={"KEYQUARRY_MIN_LIFESPAN": "1s"})
    try:
        with grpc.insecure_channel(server.grpc) as channel:
            def call(method, message, client="owner"):
                return channel.unary_unary(
                    f"/keyquarry.KeyQuarry/{method}", request_serializer=None, response_deserializer=None
                )(message, metadata=(("client_id", client),), timeout=5)

            # The owner sets the key locked, changes it, deletes it; sets it locked again
            # with a lifespan, and it expires.
            call("Set", key_value("k", b"open"))
            watchers = {"grpc": GrpcWatch(server, "other"), "sse": SSEWatch(server, "other")}
            owner = GrpcWatch(server, "owner")
            assert wait_for(lambda: len(owner.messages) == 1 and len(watchers["grpc"].messages) == 1)
            call("Delete", key("k"))  # DELETED of an unlocked key: the value is readable
            assert wait_for(lambda: len(owner.messages) == 2)

            lock_30s = field(4, field_varint(1, 30))  # KeyValue.lock_duration
            call("Set", key_value("k", SECRET + b"-1") + lock_30s)  # CREATED, locked
            call("Set", key_value("k", SECRET + b"-2"))  # UPDATED
            call("Delete", key("k"))  # DELETED
            lifespan_1s = field(5, field_varint(1, 1))  # KeyValue.lifespan
            call("Set", key_value("k", SECRET + b"-3") + lock_30s + lifespan_1s)
            assert wait_for(lambda: len(owner.messages) == 7)  # ... and EXPIRED
            assert wait_for(lambda: SSE_EVENTS(watchers["sse"]).count("EXPIRED") == 1)
            assert wait_for(lambda: len(watchers["grpc"].messages) == 4)

        # The owner saw every value; the other client the key and the events only.
        CREATED, UPDATED, DELETED, EXPIRED = 1, 2, 3, 4
        assert [event for event, _ in owner.events()] == [
            None, DELETED, CREATED, UPDATED, DELETED, CREATED, EXPIRED]
        assert [value for _, value in owner.events()][2:] == [
            SECRET + b"-1", SECRET + b"-2", SECRET + b"-2", SECRET + b"-3", SECRET + b"-3"]
        assert watchers["grpc"].events() == [(None, b"open"), (DELETED, b"open"), (DELETED, b""), (EXPIRED, b"")]
        assert all(dict(fields(m)).get(1) == b"k" for m in watchers["grpc"].messages), "the key is there"
        assert SSE_EVENTS(watchers["sse"]) == ["NO_EVENT", "DELETED", "DELETED", "EXPIRED"]
        for name, watcher in watchers.items():
            received = b"".join(watcher.messages) if name == "grpc" else watcher.received
            assert SECRET not in received, f"{name}: {received!r}"
        for watcher in (*watchers.values(), owner):
            watcher.stop()
    finally:
        assert server.stop() == 0


def SSE_EVENTS(watch):
    return [line[len(b"event: "):].decode() for line in watch.received.split(b"\n") if line.startswith(b"event: ")]


def field(number, payload):
    return varint(number << 3 | 2) + varint(len(payload)) + payload
