"""A real `keyquarry serve` (the debug binary the Swift build made) for the browser and
OpenAPI tests; its gRPC and HTTP addresses are read from its JSON log."""
import json
import os
import pathlib
import resource
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = os.environ.get("KEYQUARRY_BINARY", str(ROOT / ".build/debug/keyquarry"))
OUTPUT = ROOT / "test-output"


class Server:
    def __init__(self, extra_env=None, args=(), cpus=None, nofile=None, home=None):
        """`home`: the directory to run in (kept), for a server restarted over its files."""
        self.keep_home = home is not None
        self.home = home or tempfile.mkdtemp(prefix="kq-web-")
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEYQUARRY_")}
        env.update({"HOME": self.home, **(extra_env or {})})
        self.log = tempfile.NamedTemporaryFile("w+", dir=self.home, prefix="server-", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            [BINARY, "serve", "--listen", "127.0.0.1:0", "--http-address", "127.0.0.1:0", "--log-json", *args],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=self.home,
            # `cpus`: the CPUs the server may run on, as `taskset` would set them; `nofile`:
            # its file descriptor limit (soft and hard), as `ulimit -n` would set it
            preexec_fn=lambda: self._limit(cpus, nofile))
        self.grpc = self._address("grpc listening")
        self.http = "http://" + self._address("http listening")
        self.monitor = "http://" + self._address("monitor listening") if "--monitor-address" in args else None

    @staticmethod
    def _limit(cpus, nofile):
        if cpus:
            os.sched_setaffinity(0, cpus)
        if nofile:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    def cpu_seconds(self):
        """User and system CPU time the server has used so far."""
        fields = open(f"/proc/{self.process.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def logged(self, message):
        """The server's JSON log records with this message."""
        self.log.seek(0)
        records = []
        for line in self.log:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("msg") == message:
                records.append(record)
        return records

    def _address(self, message, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if records := self.logged(message):
                return records[0]["address"]
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.log.seek(0)
        raise RuntimeError(f"server did not log '{message}':\n{self.log.read()}")

    def client(self, *args, client_id="pytest", stdin=None):
        """Runs `keyquarry client` (a real gRPC client) against this server."""
        return subprocess.run(
            [BINARY, "client", "--address", self.grpc, "--client-id", client_id, *args],
            input=stdin, capture_output=True, timeout=20)

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=20)
        finally:
            self.log.close()
        if code == 0 and not self.keep_home:  # a failed server's home (its log) is kept for the failure's report
            shutil.rmtree(self.home, ignore_errors=True)
        return code

    def kill(self):
        """SIGKILL: the process ends where it is, as in a crash or an OOM kill."""
        self.process.kill()
        self.process.wait(timeout=20)
        self.log.close()


@pytest.fixture
def server():
    instance = Server()
    yield instance
    assert instance.stop() == 0


@pytest.fixture
def launched():
    """Servers a test starts itself (to restart them on the same files): any still running
    when the test ends, because it failed before stopping them, are killed."""
    servers = []
    yield servers
    for server in servers:
        if server.process.poll() is None:
            server.kill()


@pytest.fixture(scope="session")
def output_dir():
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT
