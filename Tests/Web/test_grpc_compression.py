"""Compressed gRPC requests, as clients that compress send them (grpcio here; grpc-go's
UseCompressor alike): gzip and deflate on the direct paths and the forwarded ones, an
unknown encoding refused with the ones accepted, and no inflation past the size limit."""
import gzip
import zlib

import grpc
import pytest

from conftest import Server
from test_grpc_wire import RawConnection, fields, frame, key, key_value, message, read_bytes_field, status

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
