"""The journal under kill -9 (issue 25): four writers load the server with new keys and
counter updates over gRPC, snapshots run every second (so kills land in snapshots and in
the journal's cut-overs too), and the server is killed at a random moment 20 times and
restarted on its files. With `durability: always` every acknowledged write is there after
each restart; with `everysec` every write acknowledged more than 2 s before the kill. A
write that was not acknowledged is there whole or not at all. Locks and lifespans come
back with their original deadlines."""
import random
import threading
import time

import grpc
import pytest

from conftest import Server
from test_grpc_wire import field, fields, key, key_value, read_bytes_field, unary

CLIENT = (("client_id", "writer"),)
OTHER = (("client_id", "someone-else"),)
VALUE_SIZE = 200


def start(home, mode, launched):
    server = Server(extra_env={"KEYQUARRY_DURABILITY": mode, "KEYQUARRY_SNAPSHOT_INTERVAL": "1s"}, home=str(home))
    launched.append(server)
    return server


def value_of(name):
    return (name + ":").encode().ljust(VALUE_SIZE, b"v")


def lock_for(seconds):
    return field(4, bytes([0x08, seconds]))  # KeyValue.lock_duration: a Duration of `seconds`


def lifespan(seconds):
    return field(5, bytes([0x08, seconds]))  # KeyValue.lifespan


class Writers:
    """Threads writing until stopped: writer i sets new keys w{i}-{n} and its counter
    c{i} = n, one call at a time, noting each attempt and each acknowledgement's time."""

    def __init__(self, address, first):
        self.channel = grpc.insecure_channel(address)
        self.set = unary(self.channel, "Set")
        self.stop = threading.Event()
        self.attempted = {}  # key -> value
        self.acknowledged = {}  # key -> (value, monotonic time of the answer)
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i, first)) for i in range(4)]
        for thread in self.threads:
            thread.start()

    def run(self, writer, first):
        n = first
        while not self.stop.is_set():
            n += 1
            for name, value in ((f"w{writer}-{n}", None), (f"c{writer}", str(n).encode())):
                value = value or value_of(name)
                with self.lock:
                    self.attempted[name] = value
                try:
                    self.set(key_value(name, value), metadata=CLIENT, timeout=5)
                except grpc.RpcError:
                    return  # the server was killed
                with self.lock:
                    self.acknowledged[name] = (value, time.monotonic())

    def join(self):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)
        self.channel.close()


def get(channel, name):
    try:
        return read_bytes_field(unary(channel, "Get")(key(name), metadata=CLIENT, timeout=5), 1)
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.NOT_FOUND, error
        return None


def check(channel, attempted, required, counters, mode):
    """`required`: keys whose acknowledged value must be there; any other attempted key
    is whole or absent; a counter is at least its last required value."""
    for name, value in attempted.items():
        if name.startswith("c"):
            if name in counters:
                found = get(channel, name)
                assert found is not None and int(found) >= counters[name], (name, found, counters[name])
            continue
        found = get(channel, name)
        if name in required:
            assert found == value, f"{mode}: acknowledged {name} lost (found {found!r})"
        else:
            assert found in (None, value), f"{mode}: unacknowledged {name} half-applied: {found!r}"


@pytest.mark.parametrize("mode", ["always", "everysec"])
def test_acknowledged_writes_survive_kill_9(mode, tmp_path, launched):
    rng = random.Random(25)
    counters = {}  # counter key -> the value it must at least have
    sample = {}  # keys acknowledged in earlier rounds that must stay (checked at the end)
    first = 0
    for round in range(20):
        server = start(tmp_path, mode, launched)
        with grpc.insecure_channel(server.grpc) as channel:
            if round:
                check(channel, attempted, required, counters, mode)
        writers = Writers(server.grpc, first)
        time.sleep(rng.uniform(0.3, 2.5))
        server.kill()
        killed = time.monotonic()
        writers.join()
        attempted = dict(writers.attempted)
        grace = 2 if mode == "everysec" else 0
        required = {name for name, (_, at) in writers.acknowledged.items() if at <= killed - grace}
        for name in required:
            if name.startswith("c"):
                counters[name] = max(counters.get(name, 0), int(writers.acknowledged[name][0]))
            else:
                sample[name] = writers.acknowledged[name][0]
        assert mode == "everysec" or len(required) > 0, "no write was acknowledged in a round"
        first += 100_000
    server = start(tmp_path, mode, launched)
    try:
        with grpc.insecure_channel(server.grpc) as channel:
            check(channel, attempted, required, counters, mode)
            kept = rng.sample(sorted(sample), min(300, len(sample)))
            check(channel, {name: sample[name] for name in kept}, set(kept), {}, mode)
    finally:
        assert server.stop() == 0


def inspect_lifespan_set(channel, name):
    """lifespan_set, in seconds."""
    response = unary(channel, "Inspect")(field(1, name.encode()), metadata=CLIENT, timeout=5)
    timestamp = dict(fields(dict(fields(response))[10]))
    return timestamp.get(1, 0) + timestamp.get(2, 0) / 1e9


@pytest.mark.parametrize("mode", ["always", "everysec"])
def test_locks_and_lifespans_keep_their_deadlines_across_kill_9(mode, tmp_path, launched):
    server = start(tmp_path, mode, launched)
    with grpc.insecure_channel(server.grpc) as channel:
        unary(channel, "Set")(key_value("locked", b"mine") + lock_for(8), metadata=CLIENT, timeout=5)
        unary(channel, "Set")(key_value("brief", b"soon gone") + lifespan(8), metadata=CLIENT, timeout=5)
        deadline = time.monotonic() + 8
        lifespan_set = inspect_lifespan_set(channel, "brief")
    if mode == "everysec":
        time.sleep(2.2)  # past the next sync
    server.kill()
    server = start(tmp_path, mode, launched)
    try:
        with grpc.insecure_channel(server.grpc) as channel:
            with pytest.raises(grpc.RpcError) as locked:
                unary(channel, "Get")(key("locked"), metadata=OTHER, timeout=5)
            assert locked.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert get(channel, "locked") == b"mine"  # its owner reads it
            # As it was, to the precision of the server's clock type (a Double of seconds).
            assert abs(inspect_lifespan_set(channel, "brief") - lifespan_set) < 1e-6
            assert deadline - time.monotonic() > 1, "the restart took too long for the deadlines to be told apart"
            time.sleep(max(0, deadline - time.monotonic()) + 1.5)
            assert read_bytes_field(unary(channel, "Get")(key("locked"), metadata=OTHER, timeout=5), 1) == b"mine"
            assert get(channel, "brief") is None
    finally:
        assert server.stop() == 0


def test_a_fresh_start_is_what_a_crash_comes_back_to(tmp_path, launched):
    """start_fresh with a journal: the old state stays gone and the new writes stay, even
    when the server dies before its first periodic snapshot."""
    server = start(tmp_path, "always", launched)
    with grpc.insecure_channel(server.grpc) as channel:
        unary(channel, "Set")(key_value("old", b"1"), metadata=CLIENT, timeout=5)
    assert server.stop() == 0  # its shutdown snapshot holds "old"
    fresh = Server(extra_env={"KEYQUARRY_DURABILITY": "always", "KEYQUARRY_SNAPSHOT_INTERVAL": "1h"},
                   args=("--fresh",), home=str(tmp_path))
    launched.append(fresh)
    with grpc.insecure_channel(fresh.grpc) as channel:
        unary(channel, "Set")(key_value("new", b"2"), metadata=CLIENT, timeout=5)
    fresh.kill()
    server = start(tmp_path, "always", launched)
    try:
        with grpc.insecure_channel(server.grpc) as channel:
            assert get(channel, "new") == b"2"
            assert get(channel, "old") is None
    finally:
        assert server.stop() == 0
