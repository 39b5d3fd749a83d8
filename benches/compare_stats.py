#!/usr/bin/env python3
"""Side-by-side: Abacus's welch_ttest / student_ttest / mann_whitney_u against ClickHouse
(chDB: welchTTest, studentTTest, mannWhitneyUTest) and scipy on the same Parquet file.

Usage: python3 benches/compare_stats.py [--rows 10000000] [--abacus target/release/abacus]

Two arms of normal data, one Parquet file written once; every engine reads it (Parquet scan
included), one warm-up, then the median of 3 runs, engines interleaved. Each run is its own
process so that peak RSS (ru_maxrss of the child) belongs to that engine alone. Prints a
Markdown table for BENCHMARKS.md.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def write_data(path, rows):
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(20240601)
    arm = rng.integers(0, 2, rows).astype(np.uint8)
    value = rng.normal(100.0, 15.0, rows) + arm * 0.05
    pq.write_table(pa.table({"v": value, "arm": arm}), path, row_group_size=1_000_000)


ABACUS_SQL = {
    "welch": "SELECT welch_ttest(v, arm) AS r FROM '{path}'",
    "student": "SELECT student_ttest(v, arm) AS r FROM '{path}'",
    "mann_whitney": "SELECT mann_whitney_u(v, arm) AS r FROM '{path}'",
}
# ClickHouse computes sample 0 − sample 1: flag the treatment as 0 so that its sign matches.
CHDB_SQL = {
    "welch": "SELECT welchTTest(v, 1 - arm) FROM file('{path}', Parquet)",
    "student": "SELECT studentTTest(v, 1 - arm) FROM file('{path}', Parquet)",
    "mann_whitney": "SELECT mannWhitneyUTest('two-sided')(v, 1 - arm) FROM file('{path}', Parquet)",
}
SCIPY = {
    "welch": "stats.ttest_ind(x, y, equal_var=False)",
    "student": "stats.ttest_ind(x, y)",
    "mann_whitney": "stats.mannwhitneyu(x, y)",
}


def measured(cmd):
    """Runs cmd under a wrapper that reports the child's own peak RSS."""
    wrapper = [sys.executable, "-c", (
        "import resource,subprocess,sys,time,json;"
        "t=time.perf_counter();"
        "p=subprocess.run(sys.argv[1:],capture_output=True,text=True);"
        "e=time.perf_counter()-t;"
        "r=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024;"
        "print(json.dumps({'s':e,'rss':r,'rc':p.returncode,'out':p.stdout[-400:],'err':p.stderr[-400:]}))"
    )] + cmd
    res = json.loads(subprocess.run(wrapper, check=True, capture_output=True, text=True).stdout)
    if res["rc"] != 0:
        raise RuntimeError(f"{cmd[:3]} failed: {res['err']}")
    return res


def engines(test, path, abacus):
    return {
        "abacus": [abacus, "--data", tempfile.gettempdir() + "/abacus-bench-data", "--format", "json",
                   "-c", ABACUS_SQL[test].format(path=path)],
        "chdb": [sys.executable, "-c",
                 f"import chdb; print(chdb.query({CHDB_SQL[test].format(path=path)!r}, 'CSV'))"],
        "scipy": [sys.executable, "-c",
                  "import pyarrow.parquet as pq; from scipy import stats; import numpy as np;"
                  f"t=pq.read_table({path!r}); v=t['v'].to_numpy(); a=t['arm'].to_numpy();"
                  f"x=v[a==1]; y=v[a==0]; r={SCIPY[test]}; print(r.statistic, r.pvalue)"],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--abacus", default=os.path.join(HERE, "..", "target", "release", "abacus"))
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    path = os.path.join(tempfile.gettempdir(), f"abacus-stats-{args.rows}.parquet")
    if not os.path.exists(path):
        write_data(path, args.rows)
    results = {}
    outputs = {}
    for test in ["welch", "student", "mann_whitney"]:
        cmds = engines(test, path, args.abacus)
        for name, cmd in cmds.items():  # warm-up (page cache, imports)
            outputs[(test, name)] = measured(cmd)["out"].strip()
        runs = {name: [] for name in cmds}
        for _ in range(args.runs):
            for name, cmd in cmds.items():  # interleaved
                runs[name].append(measured(cmd))
        for name, rs in runs.items():
            results[(test, name)] = (statistics.median(r["s"] for r in rs), max(r["rss"] for r in rs))
    print(f"rows: {args.rows:,}; median of {args.runs} after one warm-up; wall time includes process start and the Parquet scan\n")
    print("| test | Abacus s | chDB s | scipy s | Abacus / chDB | Abacus peak RSS MiB | chDB peak RSS MiB | scipy peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|")
    for test in ["welch", "student", "mann_whitney"]:
        a, c, s = (results[(test, e)] for e in ["abacus", "chdb", "scipy"])
        print(f"| {test} | {a[0]:.3f} | {c[0]:.3f} | {s[0]:.3f} | {a[0] / c[0]:.2f} | {a[1]:.0f} | {c[1]:.0f} | {s[1]:.0f} |")
    print("\nanswers (last warm-up):")
    for (test, name), out in outputs.items():
        print(f"- {test} {name}: {out[:300]}")


if __name__ == "__main__":
    main()
