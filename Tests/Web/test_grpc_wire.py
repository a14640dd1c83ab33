"""keyquarry's own gRPC transport on the wire, seen by two clients that share no code with
it: raw HTTP/2 frames (the `h2` library) for what a well-behaved client never sends, and
grpcio (gRPC's C core) for real calls, streams and cancellation (compression has its own file)."""
import socket
import struct
import threading
import time

import grpc
import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings
import pytest

from conftest import Server


def varint(n):
    out = b""
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out += bytes([byte | 0x80])
        else:
            return out + bytes([byte])


def field(number, payload):
    """A length-delimited protobuf field (string, bytes or message)."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def frame(message, compressed=False):
    return struct.pack(">BI", 1 if compressed else 0, len(message)) + message


def key(name):
    return field(1, name.encode())


def key_value(name, value):
    return field(1, name.encode()) + field(2, value)


def fields(message):
    """(number, value) of each field of a protobuf message: bytes for length-delimited
    fields, int for varints."""
    i = 0
    while i < len(message):
        tag, i = read_varint(message, i)
        if tag & 7 == 2:
            length, i = read_varint(message, i)
            yield tag >> 3, message[i:i + length]
            i += length
        elif tag & 7 == 0:
            value, i = read_varint(message, i)
            yield tag >> 3, value
        else:
            raise ValueError(f"unexpected wire type in {message!r}")


def read_bytes_field(message, number):
    """The first length-delimited field `number` of a protobuf message."""
    return next((value for n, value in fields(message) if n == number and isinstance(value, bytes)), None)


def read_varint_field(message, number):
    """The first varint field `number` of a protobuf message (0 when absent)."""
    return next((value for n, value in fields(message) if n == number and isinstance(value, int)), 0)


def read_varint(data, i):
    shift = result = 0
    while True:
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, i


class RawConnection:
    """One HTTP/2 connection driven frame by frame."""

    def __init__(self, address, validate=True):
        host, port = address.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=True, header_encoding="utf-8", validate_outbound_headers=validate,
            normalize_outbound_headers=validate))
        self.h2.initiate_connection()
        self.flush()
        self.responses = {}
        # Read the server's SETTINGS (and acknowledge them) before opening streams, as
        # clients do: until then NIO holds the peer to HTTP/2's defaults.
        while self.h2.remote_settings.max_concurrent_streams > 1 << 31:
            self.read_events()

    def flush(self):
        self.sock.sendall(self.h2.data_to_send())

    def start(self, path, headers=None, method="POST", content_type="application/grpc", client_id="wire-test",
              end_stream=False):
        stream = self.h2.get_next_available_stream_id()
        fields = [(":method", method), (":scheme", "http"), (":authority", "test"), (":path", path),
                  ("te", "trailers"), ("content-type", content_type)]
        if client_id:
            fields.append(("client_id", client_id))
        self.h2.send_headers(stream, fields + list((headers or {}).items()), end_stream=end_stream)
        self.flush()
        self.responses[stream] = {"headers": {}, "data": b"", "trailers": {}, "ended": False, "reset": None}
        return stream

    def send(self, stream, data, end_stream=True):
        # Respect the server's windows and frame size, as any client must.
        while data:
            window = self.h2.local_flow_control_window(stream)
            chunk = min(len(data), window, self.h2.max_outbound_frame_size)
            if chunk == 0:
                self.read_events()
                continue
            self.h2.send_data(stream, data[:chunk])
            data = data[chunk:]
            self.flush()
        if end_stream:
            self.h2.end_stream(stream)
            self.flush()

    def call(self, path, body, **kwargs):
        stream = self.start(path, **kwargs)
        self.send(stream, body)
        return self.wait(stream)

    def read_events(self):
        data = self.sock.recv(1 << 20)
        assert data, "the server closed the connection"
        for event in self.h2.receive_data(data):
            response = self.responses.get(getattr(event, "stream_id", None))
            if response is None:
                continue
            if isinstance(event, h2.events.ResponseReceived):
                response["headers"] = dict(event.headers)
            elif isinstance(event, h2.events.DataReceived):
                response["data"] += event.data
                self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.TrailersReceived):
                response["trailers"] = dict(event.headers)
            elif isinstance(event, h2.events.StreamEnded):
                response["ended"] = True
            elif isinstance(event, h2.events.StreamReset):
                response["reset"] = event.error_code
                response["ended"] = True
        self.flush()

    def wait(self, stream):
        while not self.responses[stream]["ended"]:
            self.read_events()
        return self.responses[stream]

    def close(self):
        self.sock.close()


def status(response):
    """grpc-status from the trailers, or from the headers of a trailers-only response."""
    return int((response["trailers"] or response["headers"]).get("grpc-status", -1))


def message(response):
    return (response["trailers"] or response["headers"]).get("grpc-message", "")


@pytest.fixture
def raw(server):
    connection = RawConnection(server.grpc)
    yield connection
    connection.close()


def test_direct_calls_answer_with_headers_one_message_and_trailers(raw):
    response = raw.call("/keyquarry.KeyQuarry/Set", frame(key_value("wire", b"value")))
    assert response["headers"][":status"] == "200"
    assert response["headers"]["content-type"] == "application/grpc"
    assert status(response) == 0
    assert response["data"][:1] == b"\x00"
    got = raw.call("/keyquarry.KeyQuarry/Get", frame(key("wire")))
    assert status(got) == 0
    assert read_bytes_field(got["data"][5:], 1) == b"value"
    missing = raw.call("/keyquarry.KeyQuarry/Get", frame(key("nope")))
    assert status(missing) == 5 and missing["data"] == b"" and not missing["trailers"]


def test_requests_that_are_not_grpc_calls_are_refused(raw):
    assert raw.call("/keyquarry.KeyQuarry/Get", frame(key("k")), content_type="text/plain")["headers"][":status"] == "415"
    assert status(raw.call("/keyquarry.KeyQuarry/Get", frame(key("k")), method="PUT")) == 3
    unknown = raw.call("/keyquarry.KeyQuarry/Nothing", frame(b""))
    assert status(unknown) == 12
    assert status(raw.call("/nonsense", frame(b""))) == 12
    brotli = raw.call("/keyquarry.KeyQuarry/Get", frame(key("k")), headers={"grpc-encoding": "br"})
    assert status(brotli) == 12 and brotli["headers"]["grpc-accept-encoding"] == "gzip, deflate, identity"


def test_malformed_header_fields_are_refused(server):
    raw = RawConnection(server.grpc, validate=False)
    try:
        for fields in ({"X-Upper": "v"}, {"x-evil": "a\r\nb"}, {"x-nul": "a\0b"}):
            assert raw.call("/keyquarry.KeyQuarry/Get", frame(key("k")), headers=fields)["headers"][":status"] == "400"
        assert status(raw.call("/keyquarry.KeyQuarry/Exists", frame(key("k")))) == 0
    finally:
        raw.close()


def test_broken_messages_get_a_status_and_the_connection_lives_on(raw):
    assert status(raw.call("/keyquarry.KeyQuarry/Get", frame(key("k"), compressed=True))) == 13
    assert status(raw.call("/keyquarry.KeyQuarry/Get", b"\x00\x00\x00")) == 13  # ends inside the prefix
    assert status(raw.call("/keyquarry.KeyQuarry/Get", frame(key("k")) + frame(key("k")))) == 13
    assert status(raw.call("/keyquarry.KeyQuarry/Get", b"")) == 13
    bad = raw.call("/keyquarry.KeyQuarry/Get", frame(b"\x0a\x05ab"))  # string field cut short
    assert status(bad) == 3
    # The client id is checked before the request is decoded.
    anonymous = raw.call("/keyquarry.KeyQuarry/Get", frame(b"\x0a\x05ab"), client_id=None)
    assert status(anonymous) == 3 and "client_id" in message(anonymous)
    # The same on the forwarded path (ListKeys runs in GRPCServer).
    assert status(raw.call("/keyquarry.KeyQuarry/ListKeys", frame(b"\x0a\x05ab"))) == 3
    ok = raw.call("/keyquarry.KeyQuarry/Exists", frame(key("k")))
    assert status(ok) == 0


def test_oversized_request_is_resource_exhausted_before_it_is_read(raw):
    big = b"x" * (5 << 20)
    stream = raw.start("/keyquarry.KeyQuarry/Set")
    raw.h2.send_data(stream, frame(key_value("big", big))[:16384])
    raw.flush()
    response = raw.wait(stream)
    assert status(response) == 8
    assert "exceeds" in message(response)
    assert status(raw.call("/keyquarry.KeyQuarry/Exists", frame(key("big")))) == 0


def test_a_forwarded_request_that_breaks_off_is_answered_and_the_rest_refused(raw):
    # ListKeys runs in GRPCServer: it gets the error, and the client, still sending, is
    # told to stop (RST_STREAM NO_ERROR after the trailers); what it sent after is dropped.
    stream = raw.start("/keyquarry.KeyQuarry/ListKeys")
    raw.h2.send_data(stream, b"\x00\x00\x50\x00\x00" + b"x" * 100)  # declares 5 MiB
    raw.flush()
    response = raw.wait(stream)
    assert status(response) == 8
    deadline = time.monotonic() + 10
    while response["reset"] is None and time.monotonic() < deadline:
        raw.read_events()
    assert response["reset"] == 0
    assert status(raw.call("/keyquarry.KeyQuarry/ListKeys", frame(b""))) == 0


def test_a_value_near_the_limit_round_trips_through_flow_control(raw):
    value = bytes(range(256)) * 3900  # just under max_value_size (1,000,000 bytes)
    assert status(raw.call("/keyquarry.KeyQuarry/Set", frame(key_value("large", value)))) == 0
    got = raw.call("/keyquarry.KeyQuarry/Get", frame(key("large")))
    assert status(got) == 0
    assert read_bytes_field(got["data"][5:], 1) == value


def test_many_concurrent_streams_on_one_connection(raw):
    streams = [raw.start("/keyquarry.KeyQuarry/Set") for _ in range(300)]
    for i, stream in enumerate(streams):
        raw.h2.send_data(stream, frame(key_value(f"c{i}", str(i).encode())), end_stream=True)
    raw.flush()
    assert all(status(raw.wait(stream)) == 0 for stream in streams)
    gets = [raw.start("/keyquarry.KeyQuarry/Get") for _ in range(300)]
    for i, stream in enumerate(gets):
        raw.h2.send_data(stream, frame(key(f"c{i}")), end_stream=True)
    raw.flush()
    for i, stream in enumerate(gets):
        assert read_bytes_field(raw.wait(stream)["data"][5:], 1) == str(i).encode()


def unary(channel, method):
    return channel.unary_unary(f"/keyquarry.KeyQuarry/{method}", request_serializer=None, response_deserializer=None)


METADATA = (("client_id", "grpcio"),)


def test_grpcio_calls_streams_and_cancels(server):
    with grpc.insecure_channel(server.grpc) as channel:
        assert unary(channel, "Set")(key_value("g", b"1"), metadata=METADATA, timeout=5)
        watch = channel.unary_stream(
            "/keyquarry.KeyQuarry/WatchKeyValue", request_serializer=None, response_deserializer=None)
        updates = watch(key("g"), metadata=METADATA, timeout=10)
        assert read_bytes_field(next(updates), 2) == b"1"  # the current value first
        unary(channel, "Set")(key_value("g", b"2"), metadata=METADATA, timeout=5)
        assert read_bytes_field(next(updates), 2) == b"2"
        subscribers = stats_subscribers(channel)
        assert subscribers >= 1
        updates.cancel()
        wait_for_subscribers(channel, subscribers - 1)  # the server let go of the watch
        with pytest.raises(grpc.RpcError) as missing:
            unary(channel, "Get")(key("absent"), metadata=METADATA, timeout=5)
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.RpcError) as anonymous:
            unary(channel, "Get")(key("g"), timeout=5)
        assert anonymous.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.RpcError) as compressed:  # compressed calls are served
            unary(channel, "Get")(key("absent"), metadata=METADATA, timeout=5, compression=grpc.Compression.Gzip)
        assert compressed.value.code() == grpc.StatusCode.NOT_FOUND


def test_ordinary_clients_keep_their_connection_and_a_reset_flood_loses_it(server):
    # NIO's flood guards alone closed a connection after 200 resets or 200 PINGs in 30 s,
    # failing the calls still open on it. Stopping a watch (or giving up on a call past
    # its deadline) is a reset; grpc-go and grpc-java ping once per response they read.
    with grpc.insecure_channel(server.grpc) as channel:
        unary(channel, "Set")(key_value("r", b"0"), metadata=METADATA, timeout=5)
        watch = channel.unary_stream(
            "/keyquarry.KeyQuarry/WatchKeyValue", request_serializer=None, response_deserializer=None)
        kept = watch(key("r"), metadata=METADATA, timeout=30)
        next(kept)
        for _ in range(600):
            stopped = watch(key("r"), metadata=METADATA, timeout=10)
            next(stopped)
            stopped.cancel()
        unary(channel, "Set")(key_value("r", b"1"), metadata=METADATA, timeout=5)
        assert read_bytes_field(next(kept), 2) == b"1"
        kept.cancel()
    pinging = RawConnection(server.grpc)
    try:
        for i in range(1_000):
            pinging.h2.ping(struct.pack(">Q", i))
            assert status(pinging.call("/keyquarry.KeyQuarry/Exists", frame(key("r")))) == 0
    finally:
        pinging.close()
    # 1,000 resets within a second are a flood. Sent in one write: the connection closes
    # as soon as the flood trips, so a client still writing would not read the GOAWAY.
    flood = RawConnection(server.grpc)
    try:
        for _ in range(5_000):
            stream = flood.h2.get_next_available_stream_id()
            flood.h2.send_headers(stream, [(":method", "POST"), (":scheme", "http"), (":authority", "test"),
                                           (":path", "/keyquarry.KeyQuarry/Get"), ("te", "trailers"),
                                           ("content-type", "application/grpc"), ("client_id", "flood")])
            flood.h2.reset_stream(stream)
        flood.flush()
        closed = None
        while closed is None:
            data = flood.sock.recv(1 << 20)
            assert data, "the connection closed without a GOAWAY"
            closed = next((event for event in flood.h2.receive_data(data)
                           if isinstance(event, h2.events.ConnectionTerminated)), None)
        assert closed.error_code == h2.errors.ErrorCodes.ENHANCE_YOUR_CALM
    finally:
        flood.close()


def test_an_update_reaches_every_watch_multiplexed_on_one_connection(server):
    with grpc.insecure_channel(server.grpc) as channel:
        unary(channel, "Set")(key_value("fan", b"0"), metadata=METADATA, timeout=5)
        watch = channel.unary_stream(
            "/keyquarry.KeyQuarry/WatchKeyValue", request_serializer=None, response_deserializer=None)
        watches = [watch(key("fan"), metadata=METADATA, timeout=20) for _ in range(300)]
        assert all(read_bytes_field(next(updates), 2) == b"0" for updates in watches)
        for round in (b"1", b"2"):
            unary(channel, "Set")(key_value("fan", round), metadata=METADATA, timeout=5)
            assert all(read_bytes_field(next(updates), 2) == round for updates in watches)
        for updates in watches:
            updates.cancel()


def wait_for_subscribers(channel, count):
    deadline = time.time() + 10
    while stats_subscribers(channel) != count and time.time() < deadline:
        time.sleep(0.05)
    assert stats_subscribers(channel) == count


def test_watch_streams_multiplexed_on_one_connection_get_every_event_in_order(server):
    """WatchStream is served by the transport itself (events pushed from the store onto the
    streams): every watch gets every matching event once and in order; a cancelled one is let go."""
    created, updated = 1, 2  # keyquarry.KeyEvent
    with grpc.insecure_channel(server.grpc) as channel:
        watch = channel.unary_stream(
            "/keyquarry.KeyQuarry/WatchStream", request_serializer=None, response_deserializer=None)
        watches = [watch(field(1, b"multi"), metadata=METADATA, timeout=20) for _ in range(200)]
        wait_for_subscribers(channel, 200)
        for value in (b"1", b"2", b"3"):
            unary(channel, "Set")(key_value("multi", value), metadata=METADATA, timeout=5)
        unary(channel, "Set")(key_value("other", b"x"), metadata=METADATA, timeout=5)
        for updates in watches:
            events = [next(updates) for _ in range(3)]
            assert [read_bytes_field(e, 1) for e in events] == [b"multi"] * 3
            assert [read_varint_field(e, 2) for e in events] == [created, updated, updated]
            assert {read_bytes_field(e, 4) for e in events} == {b"grpcio"}
        for updates in watches[:100]:
            updates.cancel()
        wait_for_subscribers(channel, 100)
        unary(channel, "Set")(key_value("multi", b"4"), metadata=METADATA, timeout=5)
        assert all(read_varint_field(next(updates), 2) == updated for updates in watches[100:])
        for updates in watches[100:]:
            updates.cancel()
        wait_for_subscribers(channel, 0)


def test_a_watcher_that_stops_reading_is_ended_and_writers_go_on():
    """A client that never opens its flow-control window: its events queue up to
    event_stream_buffer_size, then it is ended with RESOURCE_EXHAUSTED after
    event_stream_send_timeout, while writes go on at full speed."""
    server = Server(extra_env={"KEYQUARRY_EVENT_STREAM_BUFFER_SIZE": "5",
                               "KEYQUARRY_EVENT_STREAM_SEND_TIMEOUT": "200ms"})
    stalled = RawConnection(server.grpc)
    try:
        stalled.h2.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0})
        stalled.flush()
        stream = stalled.start("/keyquarry.KeyQuarry/WatchStream")
        stalled.send(stream, frame(field(1, b"slow")))
        with grpc.insecure_channel(server.grpc) as channel:
            wait_for_subscribers(channel, 1)
            started = time.time()
            while stats_subscribers(channel) == 1 and time.time() - started < 10:
                for i in range(20):
                    unary(channel, "Set")(key_value("slow", str(i).encode()), metadata=METADATA, timeout=5)
                time.sleep(0.05)
            assert stats_subscribers(channel) == 0
        # The trailers wait behind the held-back events: the reset carries the verdict
        # (ENHANCE_YOUR_CALM, which gRPC clients report as RESOURCE_EXHAUSTED).
        response = stalled.wait(stream)
        assert response["reset"] == h2.errors.ErrorCodes.ENHANCE_YOUR_CALM
        assert response["data"] == b""  # nothing got through the closed window
    finally:
        stalled.close()
        server.stop()


def test_a_watcher_whose_socket_is_full_is_ended():
    """A client that opens its windows wide but stops reading the socket: once the
    server's socket buffers and NIO's high-water mark are full, its events are held and
    counted, and it is ended like a watcher with a closed window (the server learns the
    channel's writability from NIO's events, not by asking per event)."""
    server = Server(extra_env={"KEYQUARRY_EVENT_STREAM_BUFFER_SIZE": "5",
                               "KEYQUARRY_EVENT_STREAM_SEND_TIMEOUT": "200ms",
                               "KEYQUARRY_MAX_KEY_LENGTH": "60000"})
    stalled = RawConnection(server.grpc)
    try:
        stalled.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.h2.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: (1 << 31) - 1})
        stalled.h2.increment_flow_control_window((1 << 31) - 1 - 65535)
        stalled.flush()
        name = "full" + "x" * 15000  # every event carries the key: 15 kB, one DATA frame each
        stream = stalled.start("/keyquarry.KeyQuarry/WatchStream")
        stalled.send(stream, frame(field(1, name.encode())))
        with grpc.insecure_channel(server.grpc) as channel:
            wait_for_subscribers(channel, 1)
            sets = 0
            while stats_subscribers(channel) == 1 and sets < 5000:  # 75 MB of events at most
                for i in range(20):
                    unary(channel, "Set")(key_value(name, str(i).encode()), metadata=METADATA, timeout=5)
                sets += 20
            assert stats_subscribers(channel) == 0, f"still watching after {sets} events"
            assert unary(channel, "Set")(key_value("after", b"v"), metadata=METADATA, timeout=5) is not None
    finally:
        stalled.close()
        server.stop()


def stats_subscribers(channel):
    return read_varint_field(unary(channel, "Stats")(b"", metadata=METADATA, timeout=5), 6)


def test_grpcio_from_many_threads(server):
    errors = []

    def worker(n):
        try:
            with grpc.insecure_channel(server.grpc) as channel:
                for i in range(50):
                    unary(channel, "Set")(key_value(f"t{n}-{i}", b"v"), metadata=METADATA, timeout=5)
                    got = unary(channel, "Get")(key(f"t{n}-{i}"), metadata=METADATA, timeout=5)
                    assert read_bytes_field(got, 1) == b"v"
        except Exception as error:  # collected for the main thread
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors


def test_sigterm_ends_open_watches_with_ok_and_closes_the_connection():
    server = Server()
    try:
        with grpc.insecure_channel(server.grpc) as channel:
            unary(channel, "Set")(key_value("s", b"v"), metadata=METADATA, timeout=5)
            watch = channel.unary_stream(
                "/keyquarry.KeyQuarry/WatchKeyValue", request_serializer=None, response_deserializer=None)
            updates = watch(key("s"), metadata=METADATA, timeout=20)
            assert read_bytes_field(next(updates), 2) == b"v"
            events = channel.unary_stream(
                "/keyquarry.KeyQuarry/WatchStream", request_serializer=None, response_deserializer=None
            )(b"", metadata=METADATA, timeout=20)
            wait_for_subscribers(channel, 2)
            server.process.send_signal(15)
            assert list(updates) == []  # the streams end, not fail
            assert updates.code() == grpc.StatusCode.OK
            assert list(events) == [] and events.code() == grpc.StatusCode.OK
    finally:
        assert server.process.wait(timeout=20) == 0
        server.log.close()


def test_grpcio_over_tls_with_alpn_and_over_a_unix_socket(tmp_path):
    import subprocess

    cert, private_key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(private_key), "-out", str(cert)],
        check=True, capture_output=True, timeout=30)
    tls = Server(extra_env={"KEYQUARRY_SSL_CERTFILE": str(cert), "KEYQUARRY_SSL_KEYFILE": str(private_key)})
    try:
        credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
        with grpc.secure_channel(tls.grpc, credentials) as channel:
            unary(channel, "Set")(key_value("tls", b"secret"), metadata=METADATA, timeout=10)
            assert read_bytes_field(unary(channel, "Get")(key("tls"), metadata=METADATA, timeout=10), 1) == b"secret"
        with grpc.insecure_channel(tls.grpc) as plaintext, pytest.raises(grpc.RpcError):
            unary(plaintext, "Get")(key("tls"), metadata=METADATA, timeout=3)
    finally:
        assert tls.stop() == 0

    path = tmp_path / "grpc.sock"
    unix = Server(args=("--listen", f"unix://{path}"))
    try:
        with grpc.insecure_channel(f"unix:{path}") as channel:
            unary(channel, "Set")(key_value("unix", b"v"), metadata=METADATA, timeout=10)
            assert read_bytes_field(unary(channel, "Get")(key("unix"), metadata=METADATA, timeout=10), 1) == b"v"
    finally:
        assert unix.stop() == 0
    assert not path.exists()
