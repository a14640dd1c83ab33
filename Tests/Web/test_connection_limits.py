"""Connections no client can use to take the server down: `max_connections` per listener
(never past what the descriptor limit allows), and `handshake_timeout` for connections
that never start. Over real sockets, against the real server."""
import datetime
import socket
import subprocess
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import BINARY, Server
from test_client_tls_dates import certificate

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def hold(address, count):
    """`count` TCP connections to a listener that send nothing (the kernel completes them
    whether or not the server accepts)."""
    host, port = address.removeprefix("http://").rsplit(":", 1)
    return [socket.create_connection((host, int(port)), timeout=5) for _ in range(count)]


def cpu_share(server, seconds=2.0):
    """The share of one core the server uses over `seconds`."""
    before = server.cpu_seconds()
    time.sleep(seconds)
    return (server.cpu_seconds() - before) / seconds


def serves(server):
    ok = server.client("set", "limits", "v").returncode == 0
    with urllib.request.urlopen(server.http + "/v1/keys/limits", timeout=10) as response:
        return ok and response.status == 200


def closed_within(sock, seconds):
    """Whether the server closes the connection within `seconds`; what it sent before."""
    sock.settimeout(seconds)
    received = b""
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            data = sock.recv(1 << 16)
            if not data:
                return True, received
            received += data
    except ConnectionResetError:
        return True, received
    except socket.timeout:
        pass
    return False, received


@pytest.mark.parametrize("listener", ["grpc", "http", "monitor"])
def test_at_max_connections_accepting_pauses_and_resumes(listener):
    server = Server(extra_env={"KEYQUARRY_MAX_CONNECTIONS": "5"},
                    args=("--monitor-address", "127.0.0.1:0", "--prometheus"))
    try:
        held = hold(getattr(server, listener), 30)
        assert cpu_share(server) < 0.05
        [record] = server.logged("connection limit reached: not accepting until a connection closes")
        assert record["listener"] == listener and record["max_connections"] == "5"
        if listener == "monitor":  # /metrics waits behind the held connections
            for sock in held:
                sock.close()
        samples = metrics(server)
        if listener == "monitor":  # closed, the held ones in the backlog were accepted in turn
            assert samples[("keyquarry_accept_paused_total", listener)] >= 1
        else:
            assert samples[("keyquarry_connections", listener)] == 5
            assert samples[("keyquarry_accept_paused_total", listener)] == 1
        for sock in held:
            sock.close()
        assert serves(server)
    finally:
        assert server.stop() == 0


def metrics(server):
    with urllib.request.urlopen(server.monitor + "/metrics", timeout=10) as response:
        return {(sample.name, sample.labels.get("listener")): sample.value
                for family in text_string_to_metric_families(response.read().decode())
                for sample in family.samples}


def test_out_of_descriptors_the_server_waits_without_spinning():
    # 128 descriptors: 64 kept for the rest of the server, 32 for each listener, however
    # many max_connections asks for. Without that, accept failed with EMFILE in a loop
    # that took a whole core and served no one.
    server = Server(extra_env={"KEYQUARRY_MAX_CONNECTIONS": "100000"}, nofile=128)
    try:
        lowered = server.logged("max_connections lowered to what the descriptor limit allows")
        assert {(r["listener"], r["lowered_to"], r["RLIMIT_NOFILE"]) for r in lowered} == {
            ("grpc", "32", "128"), ("http", "32", "128")}
        held = hold(server.grpc, 100) + hold(server.http, 100)
        assert cpu_share(server) < 0.05
        assert len(server.logged("connection limit reached: not accepting until a connection closes")) == 2
        for sock in held:
            sock.close()
        assert serves(server)
    finally:
        assert server.stop() == 0


def test_a_connection_that_never_starts_is_closed_after_the_handshake_timeout():
    server = Server(extra_env={"KEYQUARRY_HANDSHAKE_TIMEOUT": "1s"})
    try:
        slow_grpc, started_grpc, slow_http = hold(server.grpc, 2) + hold(server.http, 1)
        slow_grpc.sendall(PREFACE[:10])  # a preface that never ends
        started_grpc.sendall(PREFACE + b"\0\0\0\x04\0\0\0\0\0")  # the preface and an empty SETTINGS
        slow_http.sendall(b"GET /v1/keys/limits HTTP/1.1\r\nHost: localhost\r\n")  # a head that never ends
        closed, _ = closed_within(slow_grpc, 5)
        assert closed
        closed, answer = closed_within(slow_http, 5)
        assert closed and answer.startswith(b"HTTP/1.1 408 ")
        closed, _ = closed_within(started_grpc, 1)  # long past the timeout: still open
        assert not closed
        for sock in (slow_grpc, started_grpc, slow_http):
            sock.close()
        assert serves(server)
    finally:
        assert server.stop() == 0


def test_a_tls_handshake_that_never_ends_is_closed_after_the_handshake_timeout(tmp_path):
    now = datetime.datetime.now(datetime.timezone.utc)
    cert, key = certificate(tmp_path, "server", now - datetime.timedelta(days=1), now + datetime.timedelta(days=1))
    server = Server(extra_env={"KEYQUARRY_HANDSHAKE_TIMEOUT": "1s"}, args=("--ssl-certfile", cert, "--ssl-keyfile", key))
    try:
        stalled = hold(server.grpc, 1) + hold(server.http, 1)
        for sock in stalled:
            sock.sendall(b"\x16\x03\x01\x02\x00\x01")  # a ClientHello's record header, and one byte of 512
        for sock in stalled:
            closed, _ = closed_within(sock, 5)
            assert closed
            sock.close()
        done = subprocess.run([BINARY, "client", "--address", server.grpc, "--ca-certfile", cert, "set", "tls", "v"],
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
    finally:
        assert server.stop() == 0
