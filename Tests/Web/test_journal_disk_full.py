"""The journal on a full disk (issue 25), on a small tmpfs: with `durability: always`
writes are refused with UNAVAILABLE before they apply while the journal cannot grow, reads
go on, /readyz answers 503, and once there is room again writes are taken again; with
`everysec` writes go on (kept in memory), /readyz and /metrics show the failure, and what
was kept is written once there is room. Either way every acknowledged write survives a
kill -9 after that."""
import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import grpc
import pytest

from conftest import Server
from test_grpc_wire import key, key_value, read_bytes_field, unary

CLIENT = (("client_id", "writer"),)
VALUE = b"x" * 100_000
ALLOCATION_STEP = 64 << 20  # SegmentFile.allocationStep


@pytest.fixture
def small_disk():
    """A 200 MB tmpfs (room for the journal to grow twice), unmounted after."""
    mount = tempfile.mkdtemp(prefix="kq-disk-")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200m", "tmpfs", mount], capture_output=True).returncode:
        pytest.skip("mounting a tmpfs needs root (CAP_SYS_ADMIN)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", mount], check=True)
        os.rmdir(mount)


def start(home, mode, disk, launched):
    server = Server(
        extra_env={"KEYQUARRY_DURABILITY": mode, "KEYQUARRY_JOURNAL_PATH": os.path.join(disk, "journal")},
        args=("--monitor-address", "127.0.0.1:0", "--prometheus"), home=home)
    launched.append(server)
    return server


def fill(disk, leave):
    """Fills the disk but for `leave` bytes; returns the filler's path."""
    stats = os.statvfs(disk)
    free = stats.f_bavail * stats.f_frsize
    path = os.path.join(disk, "filler")
    with open(path, "wb") as filler:
        filler.truncate(0)
        os.posix_fallocate(filler.fileno(), 0, max(0, free - leave))
    return path


def readyz(server):
    try:
        with urllib.request.urlopen(server.monitor + "/readyz", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def journal_failures(server):
    with urllib.request.urlopen(server.monitor + "/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith("keyquarry_journal_failures_total"):
                return float(line.split()[-1])
    return 0


def eventually(condition, seconds=15):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.parametrize("mode", ["always", "everysec"])
def test_a_full_disk(mode, small_disk, tmp_path, launched):
    home = str(tmp_path)
    server = start(home, mode, small_disk, launched)
    acknowledged = []
    with grpc.insecure_channel(server.grpc) as channel:
        set_ = unary(channel, "Set")
        set_(key_value("first", VALUE), metadata=CLIENT, timeout=10)
        acknowledged.append("first")
        filler = fill(small_disk, leave=ALLOCATION_STEP // 4)  # the journal cannot grow by a step
        refused = None
        for n in range(1000):  # over half a step of records: the journal must grow
            name = f"k{n}"
            try:
                set_(key_value(name, VALUE), metadata=CLIENT, timeout=10)
                acknowledged.append(name)
            except grpc.RpcError as error:
                assert mode == "always" and error.code() == grpc.StatusCode.UNAVAILABLE, error
                assert "journal" in error.details()
                refused = name
                break
            if mode == "everysec" and journal_failures(server) > 0:
                break
        assert eventually(lambda: readyz(server)[0] == 503), readyz(server)
        assert "journal" in readyz(server)[1]
        assert journal_failures(server) > 0
        get = unary(channel, "Get")
        assert read_bytes_field(get(key("first"), metadata=CLIENT, timeout=10), 1) == VALUE  # reads go on
        if mode == "always":
            assert refused is not None, "no write was refused on a full disk"
            with pytest.raises(grpc.RpcError) as missing:  # the refused write applied nothing
                get(key(refused), metadata=CLIENT, timeout=10)
            assert missing.value.code() == grpc.StatusCode.NOT_FOUND
        else:
            set_(key_value("kept", VALUE), metadata=CLIENT, timeout=10)  # never waits for the disk
            acknowledged.append("kept")

        os.unlink(filler)
        assert eventually(lambda: readyz(server)[0] == 200), readyz(server)
        set_(key_value("after", VALUE), metadata=CLIENT, timeout=10)
        acknowledged.append("after")
        if mode == "everysec":
            time.sleep(2.2)  # past the next sync
    server.kill()

    server = start(home, mode, small_disk, launched)
    try:
        with grpc.insecure_channel(server.grpc) as channel:
            get = unary(channel, "Get")
            for name in acknowledged:
                assert read_bytes_field(get(key(name), metadata=CLIENT, timeout=10), 1) == VALUE, name
    finally:
        assert server.stop() == 0
