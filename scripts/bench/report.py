#!/usr/bin/env python3
"""The table of scripts/bench/run: one row per workload and system (the medians of the
TSV that lib.sh's `record` writes), with keyquarry's figure over each peer's.

  report.py RESULTS.tsv [--machine TEXT] [--seconds N]
"""
import argparse
import csv
import datetime

# redis-benchmark's own workload names, placed next to keyquarry's gRPC calls.
REDIS = {
    "redis GET -d 100 -c 50 -P 1": ("gRPC Get 100 B, c=50", "Redis GET"),
    "redis GET -d 100 -c 50 -P 16": ("gRPC Get 100 B, c=50", "Redis GET, pipeline 16"),
    "redis SET -d 100 -c 50 -P 1": ("gRPC Set 100 B, c=50", "Redis SET"),
    "redis SET -d 100 -c 50 -P 16": ("gRPC Set 100 B, c=50", "Redis SET, pipeline 16"),
}


def number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def fmt(value, digits=0):
    return "" if value is None else f"{value:,.{digits}f}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("tsv")
    parser.add_argument("--machine", default="")
    parser.add_argument("--seconds", type=int, default=0)
    args = parser.parse_args()
    groups = {}
    with open(args.tsv, newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if row["run"] != "median":
                continue
            workload, system = REDIS.get(row["workload"], (row["workload"], row["peer"]))
            groups.setdefault(workload, []).append((system, row))

    print(f"keyquarry next to its peers, {datetime.date.today()}, {args.machine}"
          + (f", {args.seconds // 60} min {args.seconds % 60} s" if args.seconds else ""))
    print("Servers on one core, load generators on the other. For ms and bytes, lower is better.\n")
    print("| workload | system | req/s or figure | p50 ms | p99 ms | keyquarry / peer | ok |")
    print("|---|---|---|---|---|---|---|")
    for workload, rows in groups.items():
        peers = [(s, number(r["req_per_s"])) for s, r in rows if not s.startswith("keyquarry")]
        rows.sort(key=lambda item: not item[0].startswith("keyquarry"))
        for system, row in rows:
            value = number(row["req_per_s"])
            ratios = ""
            if system.startswith("keyquarry") and value:
                ratios = ", ".join(f"{value / v:.2f}× {name}" for name, v in peers if v)
            digits = 1 if value is not None and value < 100 else 0
            print(f"| {workload} | {system} | {fmt(value, digits)} | {fmt(number(row['p50_ms']), 2)} "
                  f"| {fmt(number(row['p99_ms']), 2)} | {ratios} | {row['ok']} |")


if __name__ == "__main__":
    main()
