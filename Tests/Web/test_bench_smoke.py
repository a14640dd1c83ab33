"""scripts/bench/run --smoke: every system of the side-by-side benchmark starts, takes a
moment of load and lands in the table. Figures are not checked: benchmarks are not tests."""
import os
import subprocess

from conftest import ROOT


def test_bench_run_smoke():
    result = subprocess.run(
        [str(ROOT / "scripts/bench/run"), "--smoke"], capture_output=True, text=True, timeout=600,
        env={**os.environ, "KQB_STATE": "/tmp/kqbench-smoke"})
    assert result.returncode == 0, result.stderr[-4000:]
    rows = [line.split(" | ") for line in result.stdout.splitlines() if line.startswith("| ") and "---" not in line][1:]
    systems = {row[1] for row in rows}
    for expected in ("keyquarry", "keyquarry gRPC", "keyquarry SSE", "Redis GET", "Redis RSS", "nginx static file",
                     "floor: a write() per connection, no protocol", "keyquarry (durability: snapshot)",
                     "keyquarry (durability: everysec)", "keyquarry (durability: always)"):
        assert expected in systems, result.stdout
    assert any(system.startswith("etcd") for system in systems), result.stdout
    workloads = {row[0].lstrip("| ") for row in rows}
    assert len(workloads) == 10, workloads
    durable = {row[1] for row in rows if row[0].lstrip("| ").startswith("REST PUT new keys")}
    assert any(system.startswith("etcd") and "(fsync)" in system for system in durable), durable
    multiplexed = [row for row in rows if "streams per connection" in row[0]]
    assert {row[1] for row in multiplexed} - {"keyquarry gRPC"} and len(multiplexed) == 2, multiplexed
    assert all(row[-1].startswith("yes") for row in rows), result.stdout
