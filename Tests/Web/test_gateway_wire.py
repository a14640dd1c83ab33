"""The REST gateway on a raw HTTP/1.1 socket: pipelined requests are answered in order
whichever path serves them (the direct GET, answered before Hummingbird, or a route),
the `Connection: close` rule holds, idle connections are closed and unparsable requests
get JSON errors."""
import http.client
import json
import socket
import time
import urllib.request

from conftest import Server


def put(server, key, value):
    request = urllib.request.Request(f"{server.http}/v1/keys/{key}", data=value, method="PUT")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status in (200, 201)


def connect(server):
    host, port = server.http.removeprefix("http://").rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=10)


def read_responses(sock, count):
    """(status, headers, body) of `count` responses with Content-Length bodies."""
    data, responses = b"", []
    while len(responses) < count:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed after {len(responses)} responses"
            data += chunk
        head, data = data.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        headers = {name.lower(): value for name, value in (line.split(": ", 1) for line in lines[1:])}
        length = int(headers.get("content-length", 0))
        while len(data) < length:
            data += sock.recv(65536)
        responses.append((int(lines[0].split()[1]), headers, data[:length]))
        data = data[length:]
    return responses


def test_pipelined_requests_are_answered_in_order(server):
    put(server, "a", b"first")
    put(server, "b", b"second")
    requests = [
        "GET /v1/keys/a?client_id=pytest HTTP/1.1\r\nHost: localhost\r\n\r\n",  # a query: served by Hummingbird
        "GET /v1/keys/b HTTP/1.1\r\nHost: localhost\r\n\r\n",  # direct, but only once the one before is answered
        "PUT /v1/keys/c HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nthird",
        "GET /v1/keys/c HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "GET /v1/keys/missing HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "GET /v1/keys/a HTTP/1.1\r\nHost: localhost\r\n\r\n",
    ]
    with connect(server) as sock:
        sock.sendall("".join(requests).encode())
        answers = read_responses(sock, len(requests))
    assert [status for status, _, _ in answers] == [200, 200, 201, 200, 404, 200]
    assert [body for _, _, body in answers][:2] == [b"first", b"second"]
    assert answers[3][2] == b"third" and answers[5][2] == b"first"
    assert b'"code":5' in answers[4][2]
    for _, headers, _ in answers:
        assert headers["server"] == "keyquarry" and headers["date"].endswith(" GMT")


def test_connection_close_ends_the_connection(server):
    put(server, "k", b"v")
    with connect(server) as sock:
        sock.sendall(b"GET /v1/keys/k HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        received = b""
        while chunk := sock.recv(65536):  # ends only when the server closes
            received += chunk
    assert received.startswith(b"HTTP/1.1 200") and received.endswith(b"\r\n\r\nv")


def test_the_direct_get_answers_like_the_route(server):
    put(server, "same", b"value")
    with connect(server) as sock:
        sock.sendall(b"GET /v1/keys/same HTTP/1.1\r\nHost: localhost\r\n\r\nGET /v1/keys/same?client_id=pytest HTTP/1.1\r\nHost: localhost\r\n\r\n"
                     b"GET /v1/keys/bad%zz HTTP/1.1\r\nHost: localhost\r\n\r\nGET /v1/keys/bad%zz?client_id=pytest HTTP/1.1\r\nHost: localhost\r\n\r\n"
                     b"GET /v1/keys/same HTTP/1.1\r\nHost: localhost\r\nIf-None-Match: \"1\"\r\n\r\n"
                     b"GET /v1/keys/same?client_id=pytest HTTP/1.1\r\nHost: localhost\r\nIf-None-Match: \"1\"\r\n\r\n")
        direct, routed, bad_direct, bad_routed, cached_direct, cached_routed = read_responses(sock, 6)
    for one, other in ((direct, routed), (bad_direct, bad_routed), (cached_direct, cached_routed)):
        assert one[0] == other[0] and one[2] == other[2]
        assert {k: v for k, v in one[1].items() if k != "date"} == {k: v for k, v in other[1].items() if k != "date"}
    assert direct[0] == 200 and bad_direct[0] == 400 and cached_direct[0] == 304


def read_until_closed(sock, deadline):
    """What the server sends until it closes the connection (None if it is still open at `deadline`)."""
    received = b""
    while time.time() < deadline:
        sock.settimeout(max(0.01, deadline - time.time()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return None
        if not chunk:
            return received
        received += chunk
    return None


def test_idle_connections_are_closed_and_busy_ones_kept():
    server = Server(extra_env={"KEYQUARRY_HTTP_IDLE_TIMEOUT": "1s", "KEYQUARRY_SSE_HEARTBEAT": "1m"})
    try:
        put(server, "k", b"v")
        idle, half, events, watch, busy = (connect(server) for _ in range(5))
        started = time.time()
        idle.sendall(b"GET /v1/keys/k HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert read_responses(idle, 1)[0][2] == b"v"
        half.sendall(b"GET /v1/keys/k HTTP/1.1\r\nHost: localhost\r\n")  # the head never ends
        events.sendall(b"GET /v1/events?keys=k HTTP/1.1\r\nHost: localhost\r\n\r\n")  # the direct event stream
        watch.sendall(b"GET /v1/keys/k/watch HTTP/1.1\r\nHost: localhost\r\n\r\n")  # a stream Hummingbird serves
        for sock in (events, watch):
            sock.settimeout(5)
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        assert read_until_closed(idle, started + 0.5) is None, "not closed before its timeout"
        # A client that keeps asking, on the direct path and on Hummingbird's, is never idle.
        while time.time() < started + 2.5:
            busy.sendall(b"GET /v1/keys/k HTTP/1.1\r\nHost: localhost\r\n\r\nGET /v1/keys/k?client_id=pytest HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert [status for status, _, _ in read_responses(busy, 2)] == [200, 200]
            time.sleep(0.3)
        for sock in (idle, half):
            assert read_until_closed(sock, started + 5) == b"", "closed about a second after its last request part"
        # The quiet streams are still open and still deliver.
        put(server, "k", b"changed")
        for sock, change in ((events, b"UPDATED"), (watch, b"Y2hhbmdlZA")):  # the new value's base64
            received = b""
            while change not in received:
                chunk = sock.recv(65536)
                assert chunk, "a quiet stream was closed as idle"
                received += chunk
        for sock in (idle, half, events, watch, busy):
            sock.close()
    finally:
        assert server.stop() == 0


def test_requests_http_cannot_parse_get_json_errors_after_the_answers_before_them(server):
    put(server, "k", b"v")
    cases = [
        (b"GET /v1/keys/k HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * 90_000 + b"\r\n\r\n", 431),
        (b"GET /v1/keys/" + b"a" * 90_000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n", 431),
        (b"GET /v1/keys/k HTTP/1.1\r\nHost t\r\n\r\n", 400),
        (b"NOT HTTP AT ALL\r\n\r\n", 400),
    ]
    before = (b"GET /v1/keys/k HTTP/1.1\r\nHost: localhost\r\n\r\n"  # direct
              b"GET /v1/keys/k?client_id=pytest HTTP/1.1\r\nHost: localhost\r\n\r\n")  # Hummingbird
    for request, status in cases:
        for prefix in (b"", before):
            with connect(server) as sock:
                sock.sendall(prefix + request)
                answers = read_responses(sock, 3 if prefix else 1)
                assert read_until_closed(sock, time.time() + 5) == b"", "the connection ends after the error"
            assert [s for s, _, _ in answers] == ([200, 200] if prefix else []) + [status]
            _, headers, body = answers[-1]
            assert headers["connection"] == "close" and headers["content-type"] == "application/json"
            error = json.loads(body)
            assert error["code"] == 3 and error["message"] and error["details"] == []
    # Inside a body the route has the request: the same error, from the route.
    with connect(server) as sock:
        sock.sendall(b"PUT /v1/keys/k HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n")
        status, _, body = read_responses(sock, 1)[0]
        assert status == 400 and json.loads(body)["code"] == 3
    with connect(server) as sock:  # and the server goes on serving
        sock.sendall(b"GET /v1/keys/k HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert read_responses(sock, 1)[0][:3:2] == (200, b"v")


def test_durations_past_int64_nanoseconds_are_accepted_and_serve():
    # Each part fits Go's 292 years, their sum does not: no conversion may trap.
    longest = "2500000h2500000h"
    server = Server(extra_env={"KEYQUARRY_HTTP_IDLE_TIMEOUT": longest, "KEYQUARRY_SSE_HEARTBEAT": longest})
    try:
        put(server, "k", b"v")
        with connect(server) as get, connect(server) as events, connect(server) as watch:
            get.sendall(b"GET /v1/keys/k HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert read_responses(get, 1)[0][2] == b"v"
            events.sendall(b"GET /v1/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
            watch.sendall(b"GET /v1/keys/k/watch HTTP/1.1\r\nHost: localhost\r\n\r\n")
            for sock in (events, watch):
                assert sock.recv(65536).startswith(b"HTTP/1.1 200")
            time.sleep(0.3)
            put(server, "k", b"w")
    finally:
        assert server.stop() == 0


def test_an_event_stream_whose_socket_is_full_is_ended():
    """A watcher that stops reading while writes come one at a time (so its queue only
    grows once the socket holds events back): when the server's socket buffers and NIO's
    high-water mark are full, its chunks are held and counted, and the slow-consumer rule
    ends it. The server learns the channel's writability from NIO's events."""
    server = Server(extra_env={"KEYQUARRY_EVENT_STREAM_BUFFER_SIZE": "5",
                               "KEYQUARRY_EVENT_STREAM_SEND_TIMEOUT": "200ms",
                               "KEYQUARRY_MAX_KEY_LENGTH": "60000"})
    host, port = server.http.removeprefix("http://").rsplit(":", 1)

    def subscribers():
        with urllib.request.urlopen(f"{server.http}/v1/stats", timeout=10) as response:
            return int(json.load(response).get("eventSubscribers", 0))

    try:
        with connect(server) as stalled:
            stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            name = "full" + "x" * 15000  # every event carries the key: about 20 kB a chunk
            stalled.sendall(f"GET /v1/events?keys={name} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
            deadline = time.time() + 10
            while subscribers() != 1 and time.time() < deadline:
                time.sleep(0.05)
            writer = http.client.HTTPConnection(host, int(port), timeout=10)
            puts = 0
            while subscribers() == 1 and puts < 5000:  # 100 MB of events at most
                for i in range(20):
                    writer.request("PUT", f"/v1/keys/{name}", body=str(i).encode())
                    assert writer.getresponse().read() is not None
                puts += 20
            writer.close()
            assert subscribers() == 0, f"still watching after {puts} events"
    finally:
        server.stop()
