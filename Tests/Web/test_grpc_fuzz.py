"""Random requests to every RPC over real gRPC (grpcio), built from the .proto's own
descriptors: extreme numbers, durations and timestamps out of range, odd keys, patterns,
content types and client ids, values up to 3 MB, watches cut off by their deadline; with
snapshots every second, pruning and unlimited history, so that what a request leaves in
the store goes through every background task too. Whatever a client sends, the server
answers with a status of its own choosing (never INTERNAL or UNKNOWN), keeps the
connection and stops cleanly."""
import importlib
import random
import subprocess
import sys
import threading
import time

import grpc
import pytest
from google.protobuf.descriptor import FieldDescriptor

from conftest import ROOT, Server

SECONDS = 12
THREADS = 4
ADMIN = "fuzz-admin"
BROKEN = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.UNAVAILABLE,
          grpc.StatusCode.DATA_LOSS}


@pytest.fixture(scope="module")
def protos(tmp_path_factory):
    """The .proto's Python messages and stubs, generated here (grpcio-tools' protoc)."""
    out = tmp_path_factory.mktemp("protos")
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", f"-I{ROOT / 'Protos'}", f"--python_out={out}",
                    f"--grpc_python_out={out}", "keyquarry.proto", "admin.proto"], check=True, cwd=out)
    sys.path.insert(0, str(out))
    try:
        return {name: importlib.import_module(name)
                for name in ("keyquarry_pb2", "keyquarry_pb2_grpc", "admin_pb2", "admin_pb2_grpc")}
    finally:
        sys.path.remove(str(out))


class Requests:
    """Random field values: mostly a few shared keys, so that requests meet each other's state."""
    KEYS = ["a", "b", "c", "dir/key", "ünï", "", "*", "a*", "\x00", "x" * 300, "keyquarry/info"]
    INTS = [0, 1, 2, 3, -1, -2, 2**31 - 1, 2**31, 2**32, 2**53, 2**63 - 1, -2**63, 10, 100, 1000]
    UINTS = [0, 1, 2, 3, 10, 100, 2**31, 2**32 - 1, 2**32, 2**53, 2**63, 2**64 - 1]
    SECONDS = [0, 1, -1, 5, 3600, 10**9, 315576000000, -315576000000, 2**62, 2**63 - 1, -2**63]
    NANOS = [0, 1, 500000000, 999999999, -1, -999999999, 10**9, 2**31 - 1, -2**31]

    def __init__(self, seed):
        self.random = random.Random(seed)

    def string(self):
        r = self.random.random()
        if r < 0.6:
            return self.random.choice(self.KEYS)
        if r < 0.7:
            return "".join(chr(self.random.randrange(1, 0x2FFF)) for _ in range(self.random.randrange(20)))
        if r < 0.75:
            return "k" * self.random.choice([1000, 1025, 10000, 70000])
        if r < 0.85:
            return self.random.choice(["text/plain", "application/json", "image/png", ";", "a/b; c=d", "text/*"])
        return self.random.choice(["*a*", "a?", "[", "[a-", "\\", "**", "?*?*", "a[!b]c", "{a,b}"])

    def value(self):
        r = self.random.random()
        if r < 0.8:
            return self.random.randbytes(self.random.randrange(40))
        if r < 0.9:
            return b'{"a": 1}'
        if r < 0.97:
            return b"\x89PNG\r\n\x1a\n" + bytes(20)
        return bytes(self.random.choice([100_000, 1_000_000, 1_000_001, 3_000_000]))

    def fill(self, message, depth=0):
        for field in message.DESCRIPTOR.fields:
            if self.random.random() < 0.3:
                continue
            for _ in range(self.random.randrange(4) if field.is_repeated else 1):
                if field.type == FieldDescriptor.TYPE_MESSAGE:
                    if depth < 3:
                        self.message(message, field, depth)
                    continue
                value = self.scalar(field)
                if field.is_repeated:
                    getattr(message, field.name).append(value)
                else:
                    setattr(message, field.name, value)
        return message

    def message(self, parent, field, depth):
        sub = getattr(parent, field.name).add() if field.is_repeated else getattr(parent, field.name)
        if field.message_type.full_name in ("google.protobuf.Duration", "google.protobuf.Timestamp"):
            sub.seconds = self.random.choice(self.SECONDS)
            sub.nanos = self.random.choice(self.NANOS)
        else:
            self.fill(sub, depth + 1)
            sub.SetInParent()

    def scalar(self, field):
        kind = field.type
        if kind == FieldDescriptor.TYPE_STRING:
            return self.string()
        if kind == FieldDescriptor.TYPE_BYTES:
            return self.value()
        if kind == FieldDescriptor.TYPE_BOOL:
            return self.random.random() < 0.5
        if kind == FieldDescriptor.TYPE_ENUM:
            return self.random.choice([value.number for value in field.enum_type.values] + [99, -1])
        if kind in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64):
            return self.random.choice(self.UINTS)
        if kind in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32):
            return self.random.choice([value for value in self.UINTS if value < 2**32])
        if kind in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SFIXED32):
            return self.random.choice([value for value in self.INTS if -2**31 <= value < 2**31])
        if kind in (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE):
            return self.random.choice([0.0, -1.0, 1e308, float("nan"), float("inf")])
        return self.random.choice(self.INTS)


def calls(protos, channel):
    """(method descriptor, request class, callable) for every RPC but Admin.Shutdown."""
    found = []
    for module, stubs, service in (("keyquarry_pb2", "keyquarry_pb2_grpc", "KeyQuarry"),
                                   ("admin_pb2", "admin_pb2_grpc", "Admin")):
        stub = getattr(protos[stubs], f"{service}Stub")(channel)
        for method in protos[module].DESCRIPTOR.services_by_name[service].methods:
            if method.name != "Shutdown":
                request = getattr(protos[module], method.input_type.name)
                found.append((method, request, getattr(stub, method.name)))
    return found


def test_random_requests_get_a_status_and_leave_the_server_serving(protos):
    server = Server(extra_env={
        "KEYQUARRY_SNAPSHOT_ENABLED": "true", "KEYQUARRY_PRIVILEGED_CLIENT_ID": ADMIN,
        "KEYQUARRY_MAX_KEYS": "60", "KEYQUARRY_EAGER_PRUNE_AT": "50", "KEYQUARRY_EAGER_PRUNE_TO": "30",
        "KEYQUARRY_PRUNE_INTERVAL": "1s", "KEYQUARRY_PRUNE_AT": "40", "KEYQUARRY_REVISION_LIMIT": "-1",
        "KEYQUARRY_KEEP_DELETED_KEY_HISTORY": "true", "KEYQUARRY_PERSISTENT_REVISIONS": "true",
        "KEYQUARRY_MIN_LIFESPAN": "0s", "KEYQUARRY_MIN_LOCK_DURATION": "0s",
        "KEYQUARRY_EVENT_STREAM_SUBSCRIBER_LIMIT": "20"}, args=("--snapshot-interval", "1s"))
    broken, answered = [], [0]
    options = [("grpc.max_send_message_length", 8 << 20), ("grpc.max_receive_message_length", 64 << 20)]

    def fuzz(seed):
        requests = Requests(seed)
        with grpc.insecure_channel(server.grpc, options=options) as channel:
            rpcs = calls(protos, channel)
            deadline = time.monotonic() + SECONDS
            while time.monotonic() < deadline and not broken:
                method, request_type, call = requests.random.choice(rpcs)
                if method.name == "SetReadOnly" and requests.random.random() < 0.9:
                    continue
                request = requests.fill(request_type())
                client = requests.random.choice(["c1", "c2", ADMIN, "", "x" * 200, "A.B-c_d", None])
                metadata = [("client_id", client)] if client is not None else []
                try:
                    if method.server_streaming:
                        for _ in call(request, metadata=metadata, timeout=0.3):
                            pass
                    else:
                        call(request, metadata=metadata, timeout=10)
                except grpc.RpcError as error:
                    if error.code() in BROKEN:
                        broken.append(f"seed {seed}: {method.name} {error.code().name} {error.details()!r} "
                                      f"for {str(request)[:300]!r}")
                answered[0] += 1

    try:
        threads = [threading.Thread(target=fuzz, args=(seed,)) for seed in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=SECONDS + 60)
        assert not broken, "\n".join(broken[:5])
        assert answered[0] > 500
        with grpc.insecure_channel(server.grpc) as channel:
            stats = channel.unary_unary("/keyquarry.KeyQuarry/Stats")
            assert stats(b"", metadata=[("client_id", "after")], timeout=10) is not None
    finally:
        assert server.stop() == 0, open(server.log.name).read()[-3000:]
