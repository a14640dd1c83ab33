"""`event_loops`: how many event-loop threads serve the listeners. By default one per CPU
the server may run on, so that a server pinned to one core does not split its
connections over loops that only take turns on it."""
import json
import os

from conftest import Server


def event_loop_threads(**kwargs):
    """The shared group's threads (NIO names them NIO-SGLTN-<group>-#<n>) of a server
    that has answered a call, checked against the count its start-up log gives."""
    server = Server(**kwargs)
    try:
        assert server.client("set", "k", "v").returncode == 0
        tasks = f"/proc/{server.process.pid}/task"
        names = [open(f"{tasks}/{task}/comm").read().strip() for task in os.listdir(tasks)]
        threads = sum(name.startswith("NIO-SGLTN-") for name in names)
        server.log.seek(0)
        start = next(record for record in map(json.loads, server.log) if record.get("msg") == "starting server")
        assert start["event_loop_threads"] == str(threads)
        return threads
    finally:
        assert server.stop() == 0


def cpu_quota():
    """The CPUs a cgroup quota allows, rounded up as NIO rounds them; None without a quota."""
    for quota_file, period_file in (("/sys/fs/cgroup/cpu.max", None),
                                    ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.cfs_period_us")):
        try:
            fields = open(quota_file).read().split()
            if period_file:
                fields.append(open(period_file).read().strip())
        except OSError:
            continue
        if fields[0] == "max" or int(fields[0]) <= 0:
            return None
        quota, period = int(fields[0]), int(fields[1])
        return -(-quota // period)
    return None


def test_one_event_loop_per_cpu_the_server_may_run_on():
    assert event_loop_threads(cpus={0}) == 1
    # a CPU quota below the mask lowers NIO's own count, which the mask only caps
    assert event_loop_threads() == min(len(os.sched_getaffinity(0)), cpu_quota() or os.cpu_count())


def test_event_loops_from_the_flag_and_the_environment():
    assert event_loop_threads(args=("--event-loops", "3")) == 3
    # a count given wins over the affinity mask
    assert event_loop_threads(cpus={0}, extra_env={"KEYQUARRY_EVENT_LOOPS": "2"}) == 2
