#!/usr/bin/env python3
"""Watch fan-out anchor: N concurrent watchers on ONE key, then one write; how long until
every watcher has the event?

  watch_fanout.py [--system etcd|keyquarry-grpc|keyquarry-sse] [--target 127.0.0.1:2379]
                  [--http 127.0.0.1:33971] [-n 1000] [--conns 1000] [--rounds 5]
                  [--server-pid PID] [--deadline 240]

keyquarry-grpc: server-streaming /keyquarry.KeyQuarry/WatchStream; keyquarry-sse: GET
/v1/events?keys=KEY on the REST gateway (--http), one HTTP/1.1 connection per watcher.
For keyquarry, "all watchers subscribed" is read from the server's own event_subscribers
count (/v1/stats); the write is a gRPC Set in every case.

Each watcher is its own bidi gRPC stream (etcd /etcdserverpb.Watch/Watch) with one
WatchCreateRequest for the key; watchers are spread round-robin over --conns separate
HTTP/2 connections (grpc.use_local_subchannel_pool keeps them from being shared).  When all
are created, the script does `rounds` Puts (one at a time, from a separate connection) and
for each records t(event received by watcher i) - t(just before the Put was sent).
Reported per round: first / p50 / p99 / last (= "all watchers got it") in ms, and the
client's own CPU time from the Put to the last delivery (if that is close to "last", the
client, not the server, is the bottleneck); the median over rounds is printed at the end.  Also etcd RSS before/after creating the watchers.

The client is Python (grpc.aio, generic raw-bytes calls, messages hand-encoded), so the
"last" figure includes the client's own dispatch of N messages on one core: it is an
upper bound on server fan-out time; compare servers with the SAME client.  To port to
another server, replace build_create(), is_event() and the PUT_* constants.
Everything is bounded by --deadline seconds.
"""
import argparse
import asyncio
import os
import statistics
import sys
import time

import json
import urllib.request

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from grpc_body import field_bytes, filler  # noqa: E402

WATCH_PATH = "/etcdserverpb.Watch/Watch"
PUT_PATH = "/etcdserverpb.KV/Put"
KEY = b"bench-watch-key1"  # 16 bytes


def build_create(key: bytes) -> bytes:
    # WatchRequest{ create_request(1): WatchCreateRequest{ key(1) } }
    return field_bytes(1, field_bytes(1, key))


def build_put(key: bytes, i: int) -> bytes:
    # A new value each round: keyquarry publishes no event for a Set that changes nothing.
    return field_bytes(1, key) + field_bytes(2, (b"%d:" % i + filler(100))[:100])


def top_fields(msg: bytes):
    """Yield top-level field numbers of a protobuf message (values skipped)."""
    i, n = 0, len(msg)
    while i < n:
        key = shift = 0
        while True:
            b = msg[i]; i += 1
            key |= (b & 0x7F) << shift
            if not b & 0x80:
                break
            shift += 7
        num, wt = key >> 3, key & 7
        if wt == 0:
            while msg[i] & 0x80:
                i += 1
            i += 1
        elif wt == 2:
            ln = shift = 0
            while True:
                b = msg[i]; i += 1
                ln |= (b & 0x7F) << shift
                if not b & 0x80:
                    break
                shift += 7
            i += ln
        elif wt == 1:
            i += 8
        elif wt == 5:
            i += 4
        yield num


def is_created(resp: bytes) -> bool:   # WatchResponse.created = 3
    return 3 in set(top_fields(resp))


def is_event(resp: bytes) -> bool:     # WatchResponse.events = 11 (repeated)
    return 11 in set(top_fields(resp))


KQ_WATCH_PATH = "/keyquarry.KeyQuarry/WatchStream"
KQ_SET_PATH = "/keyquarry.KeyQuarry/Set"
KQ_METADATA = (("client_id", "bench-watch"),)


def kq_subscribers(http):
    with urllib.request.urlopen(f"http://{http}/v1/stats", timeout=5) as response:
        return int(json.load(response).get("eventSubscribers", 0))


async def kq_sse_watcher(http, key, on_event, on_open):
    """One SSE stream; calls on_event() per `data:` line (chunk-size lines are skipped)."""
    host, port = http.rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"GET /v1/events?keys={key.decode()} HTTP/1.1\r\nHost: {http}\r\n"
                 "Accept: text/event-stream\r\nClient-Id: bench-watch\r\n\r\n".encode())
    await writer.drain()
    on_open(writer)
    while True:
        line = await reader.readline()
        if not line:
            return
        if line.startswith(b"data:"):
            on_event()


def rss_kib(pid):
    if not pid:
        return None
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


async def main(a):
    chans = [grpc.aio.insecure_channel(a.target, options=[("grpc.use_local_subchannel_pool", 1)])
             for _ in range(a.conns)]
    put_ch = grpc.aio.insecure_channel(a.target, options=[("grpc.use_local_subchannel_pool", 1)])
    keyquarry = a.system.startswith("keyquarry")
    raw_put = put_ch.unary_unary(KQ_SET_PATH if keyquarry else PUT_PATH, request_serializer=None,
                                 response_deserializer=None)

    async def put(body, timeout):
        return await raw_put(body, timeout=timeout, metadata=KQ_METADATA if keyquarry else None)

    await put(build_put(KEY, -1), timeout=10)  # make sure the key exists / connection is up
    base_subscribers = kq_subscribers(a.http) if keyquarry else 0

    rss0 = rss_kib(a.server_pid)
    n = a.n
    recv = [[] for _ in range(n)]
    counts = [0] * (a.rounds + 1)
    round_done = [asyncio.Event() for _ in range(a.rounds + 1)]
    created = 0
    all_created = asyncio.Event()
    calls = []

    armed = False

    def got_event(i):
        if not armed:
            return
        r = len(recv[i])
        recv[i].append(time.perf_counter())
        counts[r] += 1
        if counts[r] == n:
            round_done[r].set()

    async def kq_grpc_watcher(i):
        ch = chans[i % a.conns]
        call = ch.unary_stream(KQ_WATCH_PATH, request_serializer=None, response_deserializer=None)(
            field_bytes(1, KEY), metadata=KQ_METADATA)
        calls.append(call)
        async for _ in call:
            got_event(i)

    async def kq_sse_watcher_i(i):
        await kq_sse_watcher(a.http, KEY, lambda: got_event(i), calls.append)

    async def kq_all_subscribed():
        while kq_subscribers(a.http) - base_subscribers < n:
            await asyncio.sleep(0.05)
        all_created.set()

    async def watcher(i):
        nonlocal created
        if a.system == "keyquarry-grpc":
            return await kq_grpc_watcher(i)
        if a.system == "keyquarry-sse":
            return await kq_sse_watcher_i(i)
        ch = chans[i % a.conns]
        call = ch.stream_stream(WATCH_PATH, request_serializer=None, response_deserializer=None)()
        calls.append(call)
        await call.write(build_create(KEY))
        while True:
            resp = await call.read()
            if resp is grpc.aio.EOF:
                return
            fields = set(top_fields(resp))
            if 11 in fields:
                got_event(i)
            elif 3 in fields:
                created += 1
                if created == n:
                    all_created.set()

    t_setup = time.perf_counter()
    tasks = [asyncio.create_task(watcher(i)) for i in range(n)]
    if keyquarry:
        tasks.append(asyncio.create_task(kq_all_subscribed()))
    await asyncio.wait_for(all_created.wait(), timeout=a.deadline / 2)
    setup_s = time.perf_counter() - t_setup
    await asyncio.sleep(0.5)
    rss1 = rss_kib(a.server_pid)
    print(f"{n} watchers created on {a.conns} connection(s) in {setup_s:.2f} s"
          + (f"; server RSS {rss0} -> {rss1} KiB ({(rss1 - rss0) * 1024 / n:.0f} B/watcher)" if rss0 else ""))

    armed = True
    results = []
    for r in range(a.rounds):
        await asyncio.sleep(0.3)
        c0 = time.process_time()
        t0 = time.perf_counter()
        await put(build_put(KEY, r), timeout=10)
        t_put = time.perf_counter() - t0
        await asyncio.wait_for(round_done[r].wait(), timeout=30)
        cpu = time.process_time() - c0
        lat = sorted((recv[i][r] - t0) * 1e3 for i in range(n))
        row = dict(first=lat[0], p50=lat[len(lat) // 2], p99=lat[min(n - 1, int(0.99 * n))], last=lat[-1],
                   put=t_put * 1e3, client_cpu=cpu * 1e3)
        results.append(row)
        print(f"round {r + 1}: put {row['put']:.2f} ms; event at watchers first {row['first']:.2f} "
              f"p50 {row['p50']:.2f} p99 {row['p99']:.2f} all {row['last']:.2f} ms; client CPU {row['client_cpu']:.1f} ms")
    med = {k: statistics.median(x[k] for x in results) for k in results[0]}
    print(f"MEDIAN\twatch fan-out {a.system} N={n} conns={a.conns}\trounds={a.rounds}\tall_ms={med['last']:.2f}\t"
          f"p50_ms={med['p50']:.2f}\tp99_ms={med['p99']:.2f}\tfirst_ms={med['first']:.2f}\tput_ms={med['put']:.2f}\t"
          f"client_cpu_ms={med['client_cpu']:.1f}\t"
          f"setup_s={setup_s:.2f}" + (f"\tsrv_rss_B_per_watcher={(rss1 - rss0) * 1024 / n:.0f}" if rss0 else ""))
    for c in calls:
        c.close() if isinstance(c, asyncio.StreamWriter) else c.cancel()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for ch in chans:
        await ch.close()
    await put_ch.close()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--system", default="etcd", choices=["etcd", "keyquarry-grpc", "keyquarry-sse"])
    ap.add_argument("--target", default="127.0.0.1:2379")
    ap.add_argument("--http", default="127.0.0.1:33971", help="keyquarry's REST gateway")
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--conns", type=int, default=0, help="connections (default: one per watcher)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--server-pid", type=int, default=0)
    ap.add_argument("--deadline", type=float, default=240)
    a = ap.parse_args()
    a.conns = a.conns or a.n
    a.conns = min(a.conns, a.n)
    try:
        asyncio.run(asyncio.wait_for(main(a), timeout=a.deadline))
    except asyncio.TimeoutError:
        print("TIMEOUT: deadline exceeded", file=sys.stderr)
        sys.exit(1)
