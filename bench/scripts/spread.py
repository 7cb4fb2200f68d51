#!/usr/bin/env python3
"""Run-to-run spread: the median and range of each workload over several
runs of hamlet-bench.

Usage:
    for i in 1 2 3; do target/release/hamlet-bench --json /tmp/run-$i.json ...; done
    python3 bench/scripts/spread.py /tmp/run-1.json /tmp/run-2.json /tmp/run-3.json

For each workload (by name, in the first run's order) it prints requests/s,
p99 and peak RSS as median (min-max) over the runs that measured it, and the
screening time the same way. Python's standard library only.
"""
import json, statistics, sys


def spread(values, digits):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    fmt = "{:,.%df}" % digits
    median = fmt.format(statistics.median(values))
    if len(values) == 1:
        return median
    return f"{median} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def main(paths):
    runs = [json.load(open(path)) for path in paths]
    names = []
    for run in runs:
        for workload in run["workloads"]:
            if workload["name"] not in names:
                names.append(workload["name"])
    print(f"{len(runs)} runs; median (min-max)")
    print(f"{'workload':26} {'req/s':>28} {'p99 ms':>22} {'peak RSS MB':>22}")
    for name in names:
        rows = [w for run in runs for w in run["workloads"] if w["name"] == name and w["available"]]
        rps = spread([w["requests_per_second"] for w in rows], 0)
        p99 = spread([w["p99_ms"] for w in rows], 2)
        rss = spread([w["peak_rss_bytes"] / 1e6 if w["peak_rss_bytes"] else None for w in rows], 1)
        print(f"{name:26} {rps:>28} {p99:>22} {rss:>22}")
    screening = [run["screening"]["per_comment_us"] for run in runs if run.get("screening")]
    if screening:
        print(f"safeguarding screening µs: {spread(screening, 1)}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
