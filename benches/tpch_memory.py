#!/usr/bin/env python3
"""Peak memory of one `abacus serve` over the 22 TPC-H queries: does a change keep less?

Runs every query once to warm up and then `--runs` times through one server (psycopg on
127.0.0.1), resetting the server's VmHWM before each run, and prints each query's peak, the
largest, the resident and anonymous memory at the end, and the sum of the median times.
`--env NAME=VALUE` sets the server's environment, so an allocator setting is compared without
a build:

    python3 benches/tpch_memory.py --db ~/.cache/abacus/tpch/sf1/abacus-db BIN
    python3 benches/tpch_memory.py --db ~/.cache/abacus/tpch/sf1/abacus-db BIN \\
        --env GLIBC_TUNABLES=glibc.malloc.arena_max=2
"""
import argparse
import os
import statistics

from tpch import HERE, QUERIES, AbacusServe


def smaps_mib(pid, field):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("abacus", help="the abacus binary")
    ap.add_argument("--db", required=True, help="an Abacus data directory holding the TPC-H tables")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server")
    args = ap.parse_args()
    for pair in args.env:
        name, value = pair.split("=", 1)
        os.environ[name] = value
    server = AbacusServe(args.abacus, args.db, args.threads)
    try:
        peaks, total = [], 0.0
        for name in QUERIES:
            sql = open(os.path.join(HERE, "tpch", "queries", f"{name}.sql")).read()
            server.reset_peak()
            peak = server.run(name, sql)["rss"]
            times = []
            for _ in range(args.runs):
                server.reset_peak()
                reply = server.run(name, sql)
                times.append(reply["seconds"])
                peak = max(peak, reply["rss"])
            peaks.append(peak)
            total += statistics.median(times)
        pid = server.proc.pid
        print(f"{' '.join(args.env) or 'environment unchanged'}: largest peak {max(peaks):.0f} MiB, "
              f"at the end {smaps_mib(pid, 'Rss'):.0f} MiB resident ({smaps_mib(pid, 'Anonymous'):.0f} "
              f"anonymous), sum of medians {total:.2f} s")
        print("peaks (MiB): " + " ".join(f"{n}={p:.0f}" for n, p in zip(QUERIES, peaks)))
    finally:
        server.close()


if __name__ == "__main__":
    main()
