"""Compressed gRPC requests, as clients that compress send them (grpcio here; grpc-go's
UseCompressor alike): gzip and deflate on the direct paths and the forwarded ones, an
unknown encoding refused with the ones accepted, and no inflation past the size limit.
Compressed responses when `grpc_response_compression` is set, only for clients that
accept the encoding and only for messages of at least the threshold."""
import gzip
import zlib

import grpc
import pytest

from conftest import Server
from test_grpc_wire import (RawConnection, fields, frame, key, key_value, message, read_bytes_field, status,
                            wait_for_subscribers)

METADATA = (("client_id", "compressing"),)
VALUE = b"0" * 100_000  # compresses well, so the compressed flag is surely set


@pytest.mark.parametrize("compression", [grpc.Compression.Gzip, grpc.Compression.Deflate])
def test_compressed_calls_work_on_every_path(server, compression):
    with grpc.insecure_channel(server.grpc, compression=compression) as channel:
        def unary(method, request):
            return channel.unary_unary(
                f"/keyquarry.KeyQuarry/{method}", request_serializer=None, response_deserializer=None
            )(request, metadata=METADATA, timeout=10)

        # WatchStream: served on the event loop, its request compressed too.
        events = channel.unary_stream(
            "/keyquarry.KeyQuarry/WatchStream", request_serializer=None, response_deserializer=None
        )(key("k"), metadata=METADATA, timeout=10)  # WatchRequest.keys = ["k"]
        wait_for_subscribers(channel, 1)
        assert unary("Set", key_value("k", VALUE))  # a direct unary call
        assert read_bytes_field(unary("Get", key("k")), 1) == VALUE
        assert dict(fields(next(events)))[1] == b"k", "the watcher saw the compressed Set"
        events.cancel()
        # ListKeys and WatchKeyValue go through GRPCServer.
        assert read_bytes_field(unary("ListKeys", b""), 1) == b"k"
        updates = channel.unary_stream(
            "/keyquarry.KeyQuarry/WatchKeyValue", request_serializer=None, response_deserializer=None
        )(key("k"), metadata=METADATA, timeout=10)
        assert read_bytes_field(next(updates), 2) == VALUE
        updates.cancel()


def compressed_frame(payload):
    return b"\x01" + len(payload).to_bytes(4, "big") + payload


def test_a_compressed_request_names_its_encoding_or_is_refused(server):
    raw = RawConnection(server.grpc)
    try:
        deflated = zlib.compress(key_value("d", b"deflated"))
        response = raw.call("/keyquarry.KeyQuarry/Set", compressed_frame(deflated), headers={"grpc-encoding": "deflate"})
        assert status(response) == 0
        assert response["headers"]["grpc-accept-encoding"] == "gzip, deflate, identity"

        unknown = raw.call("/keyquarry.KeyQuarry/Set", compressed_frame(b"..."), headers={"grpc-encoding": "br"})
        assert status(unknown) == 12  # UNIMPLEMENTED
        assert unknown["headers"]["grpc-accept-encoding"] == "gzip, deflate, identity"

        unnamed = raw.call("/keyquarry.KeyQuarry/Set", compressed_frame(gzip.compress(key_value("u", b"v"))))
        assert status(unnamed) == 13  # INTERNAL: a compressed flag with no grpc-encoding
        exists = raw.call("/keyquarry.KeyQuarry/Exists", frame(key("d")))
        assert status(exists) == 0 and exists["data"][5:] == b"\x08\x01", "the deflated Set stored d"
    finally:
        raw.close()


def resident_bytes(server):
    with open(f"/proc/{server.process.pid}/status") as status_file:
        for line in status_file:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_an_inflation_bomb_is_refused_without_being_inflated():
    # 1 GB of zeros compresses to about 1 MB, under the 4 MiB request limit: only the
    # inflated size can tell it is too big.
    compressor = zlib.compressobj(wbits=31)  # gzip
    zeros = bytes(1 << 20)
    bomb = b"".join(compressor.compress(zeros) for _ in range(1024)) + compressor.flush()
    assert len(bomb) < 4 << 20
    server = Server()
    try:
        raw = RawConnection(server.grpc)
        before = resident_bytes(server)
        response = raw.call("/keyquarry.KeyQuarry/Set", compressed_frame(bomb), headers={"grpc-encoding": "gzip"})
        assert status(response) == 8  # RESOURCE_EXHAUSTED
        assert "inflates past" in message(response)
        grown = resident_bytes(server) - before
        assert grown < 64 << 20, f"the server grew by {grown} bytes"
        raw.close()
    finally:
        assert server.stop() == 0


@pytest.fixture
def compressing_server():
    instance = Server(extra_env={
        "KEYQUARRY_GRPC_RESPONSE_COMPRESSION": "gzip", "KEYQUARRY_GRPC_RESPONSE_COMPRESSION_MIN_BYTES": "64"})
    yield instance
    assert instance.stop() == 0


def inflated(data, encoding=gzip.decompress):
    """The one message of a response body: (compressed flag, payload inflated if it was compressed)."""
    flag, length = data[0], int.from_bytes(data[1:5], "big")
    assert len(data) == 5 + length, "one message"
    return flag, encoding(data[5:]) if flag else data[5:]


def test_responses_are_compressed_for_clients_that_accept_it(compressing_server):
    raw = RawConnection(compressing_server.grpc)
    try:
        assert status(raw.call("/keyquarry.KeyQuarry/Set", frame(key_value("big", VALUE)))) == 0
        assert status(raw.call("/keyquarry.KeyQuarry/Set", frame(key_value("small", b"v")))) == 0
        accepting = {"grpc-accept-encoding": "identity, deflate, gzip"}

        got = raw.call("/keyquarry.KeyQuarry/Get", frame(key("big")), headers=accepting)
        assert status(got) == 0 and got["headers"]["grpc-encoding"] == "gzip"
        flag, payload = inflated(got["data"])
        assert flag == 1 and len(got["data"]) < len(VALUE) // 10
        assert read_bytes_field(payload, 1) == VALUE

        # Under the threshold a message goes as it is, on a stream that still names gzip.
        small = raw.call("/keyquarry.KeyQuarry/Get", frame(key("small")), headers=accepting)
        assert inflated(small["data"]) == (0, small["data"][5:])
        assert read_bytes_field(small["data"][5:], 1) == b"v"

        # A client that does not list gzip gets nothing compressed.
        for headers in ({}, {"grpc-accept-encoding": "identity, deflate"}):
            plain = raw.call("/keyquarry.KeyQuarry/Get", frame(key("big")), headers=headers)
            assert "grpc-encoding" not in plain["headers"]
            assert inflated(plain["data"])[0] == 0 and read_bytes_field(plain["data"][5:], 1) == VALUE

        # The forwarded path (ListKeys runs in GRPCServer).
        long_key = "k" * 200
        assert status(raw.call("/keyquarry.KeyQuarry/Set", frame(key_value(long_key, b"v")))) == 0
        listed = raw.call("/keyquarry.KeyQuarry/ListKeys", b"\x00\x00\x00\x00\x00", headers=accepting)
        assert status(listed) == 0 and listed["headers"]["grpc-encoding"] == "gzip"
        flag, payload = inflated(listed["data"])
        assert flag == 1 and long_key.encode() in payload

        # A direct watch: each event is compressed once, for every watcher that accepts it
        # (an event, key and client id, is over 64 bytes with this key).
        watch = raw.start("/keyquarry.KeyQuarry/WatchStream", headers=accepting)
        raw.send(watch, frame(key(long_key)))
        while "grpc-encoding" not in raw.responses[watch]["headers"]:
            raw.read_events()
        other = RawConnection(compressing_server.grpc)
        assert status(other.call("/keyquarry.KeyQuarry/Set", frame(key_value(long_key, b"w")))) == 0
        other.close()
        while len(raw.responses[watch]["data"]) < 5 or len(raw.responses[watch]["data"]) < 5 + int.from_bytes(
                raw.responses[watch]["data"][1:5], "big"):
            raw.read_events()
        flag, event = inflated(raw.responses[watch]["data"])
        assert flag == 1 and read_bytes_field(event, 1) == long_key.encode()
    finally:
        raw.close()


def test_grpcio_reads_compressed_responses_on_every_path(compressing_server):
    with grpc.insecure_channel(compressing_server.grpc) as channel:
        def unary(method, request):
            return channel.unary_unary(
                f"/keyquarry.KeyQuarry/{method}", request_serializer=None, response_deserializer=None
            )(request, metadata=METADATA, timeout=10)

        long_key = "w" * 200  # its events are over the threshold too
        events = channel.unary_stream(
            "/keyquarry.KeyQuarry/WatchStream", request_serializer=None, response_deserializer=None
        )(key(long_key), metadata=METADATA, timeout=10)
        wait_for_subscribers(channel, 1)
        assert unary("Set", key_value(long_key, b"v"))
        assert read_bytes_field(next(events), 1) == long_key.encode()
        events.cancel()
        assert unary("Set", key_value("k", VALUE))
        assert read_bytes_field(unary("Get", key("k")), 1) == VALUE
        updates = channel.unary_stream(
            "/keyquarry.KeyQuarry/WatchKeyValue", request_serializer=None, response_deserializer=None
        )(key("k"), metadata=METADATA, timeout=10)
        assert read_bytes_field(next(updates), 2) == VALUE
        updates.cancel()
