#!/usr/bin/env python3
"""TPC-H and ingest: Abacus against DuckDB and bare DataFusion, in one run.

Usage (the one command; builds with the dist profile, generates data when missing):

    python3 benches/tpch.py --sf 1 --out /tmp/tpch-sf1.md

Needs `pip install duckdb tpchgen-cli` (or `cargo install tpchgen-cli`, or --tpchgen PATH). Data goes to
--data-root (default ~/.cache/abacus/tpch/sf<N>), the Abacus tables (loaded once with COPY) to
sf<N>/abacus-db.

Engines, each in its own long-lived process so that peak RSS belongs to one engine:
- duckdb:     DuckDB (Python) over the Parquet files (views over read_parquet)
- datafusion: a bare DataFusion SessionContext over the same files (`tpch --worker datafusion`)
- abacus:     an Abacus Session over its Delta tables (`tpch --worker abacus`)
- abacus-cli: `abacus --data … -c "<query>"`, one process per run (includes process start)
Per query: one warm-up of every engine, then --runs rounds, engines interleaved within each
round; the median is reported. Same thread count everywhere. Peak RSS: VmHWM of the worker,
reset before every query (/proc/PID/clear_refs), or the child's ru_maxrss for the CLI.

With --python-peers (no Rust bench executable needed, e.g. when the dev-dependency build does
not fit): datafusion is the `datafusion` Python package over the same files and abacus is one
`abacus serve` on 127.0.0.1 queried with psycopg (`pip install datafusion psycopg[binary]`);
--delta-files adds DataFusion over the Parquet files of Abacus's Delta tables.

Then the in-process comparison (`cargo bench --bench tpch`: Abacus and DataFusion in one
process), CSV ingest (a 10M-row CSV: Abacus COPY vs DuckDB CREATE TABLE AS read_csv, both into
a fresh on-disk database) and full scans with a filter (rows/s).
"""
import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
QUERIES = [f"q{n}" for n in range(1, 23)]
TABLES = ["region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem"]

SCANS = {
    "scan: numeric filter": "SELECT count(*), sum(l_extendedprice) FROM lineitem "
                            "WHERE l_discount > 0.05 AND l_quantity < 25",
    "scan: string filter": "SELECT count(*) FROM lineitem WHERE l_comment LIKE '%special%'",
}

# Each Python worker answers {"name", "sql"} lines on stdin with timings on stdout.
WORKER_LOOP = r"""
for line in sys.stdin:
    if not line.strip():
        continue
    req = json.loads(line)
    try:
        start = time.perf_counter()
        table = %RUN%(req["sql"]).to_arrow_table()
        seconds = time.perf_counter() - start
        print(json.dumps({"name": req["name"], "seconds": seconds, "rows": table.num_rows}), flush=True)
    except Exception as e:
        print(json.dumps({"name": req["name"], "error": str(e)}), flush=True)
"""

DUCKDB_WORKER = r"""
import json, sys, time, duckdb
data, threads = sys.argv[1], int(sys.argv[2])
con = duckdb.connect()
con.execute(f"SET threads = {threads}")
con.execute("SET enable_progress_bar = false")
for t in %TABLES%:
    con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{data}/{t}.parquet')")
print(json.dumps({"ready": "duckdb", "version": duckdb.__version__}), flush=True)
""".replace("%TABLES%", repr(TABLES)) + WORKER_LOOP.replace("%RUN%", "con.sql")


DATAFUSION_PY_WORKER = r"""
import json, sys, time, datafusion
from datafusion import SessionConfig, SessionContext
data, threads = sys.argv[1], int(sys.argv[2])
delta = len(sys.argv) > 3  # data is an Abacus directory: the Parquet files of its Delta tables
ctx = SessionContext(SessionConfig().with_target_partitions(threads))
for t in %TABLES%:
    ctx.register_parquet(t, f"{data}/public/{t}/" if delta else f"{data}/{t}.parquet")
print(json.dumps({"ready": "datafusion", "version": datafusion.__version__}), flush=True)
""".replace("%TABLES%", repr(TABLES)) + WORKER_LOOP.replace("%RUN%", "ctx.sql")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def cargo_env(args):
    env = dict(os.environ)
    env["CARGO_TARGET_DIR"] = args.target_dir
    return env


def build(args):
    """Builds the CLI and the bench binary with the dist profile; returns their paths."""
    if args.abacus and (args.bench_bin or args.python_peers):
        return args.abacus, args.bench_bin
    env = cargo_env(args)
    abacus = os.path.join(args.target_dir, "dist", "abacus")
    if not args.skip_build:
        subprocess.run(["cargo", "build", "--profile", "dist", "--bin", "abacus"], cwd=ROOT, env=env, check=True)
    if args.python_peers:
        return abacus, None
    out = subprocess.run(
        ["cargo", "bench", "--profile", "dist", "--bench", "tpch", "--no-run", "--message-format", "json"]
        + (["--offline"] if args.skip_build else []),
        cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
    bench = None
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "tpch" and msg.get("executable"):
            bench = msg["executable"]
    if bench is None:
        raise SystemExit("cargo did not report the tpch bench executable")
    return abacus, bench


def generate(args, sf, data):
    if all(os.path.exists(os.path.join(data, f"{t}.parquet")) for t in TABLES):
        return
    tpchgen = args.tpchgen or shutil.which("tpchgen-cli") or os.path.expanduser(
        "~/.cache/abacus/tpchgen/bin/tpchgen-cli")
    os.makedirs(data, exist_ok=True)
    log(f"generating TPC-H SF{sf} into {data}")
    subprocess.run([tpchgen, "parquet", "--scale-factor", str(sf), "--output-dir", data], check=True)


class Worker:
    """A long-lived engine process answering one JSON line per request."""

    def __init__(self, name, cmd):
        self.name = name
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        hello = json.loads(self.proc.stdout.readline())
        self.version = hello.get("version", "")
        self.peak_mib = 0.0

    def reset_peak(self):
        try:
            with open(f"/proc/{self.proc.pid}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass

    def hwm_mib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def run(self, name, sql, answer=False):
        self.proc.stdin.write(json.dumps({"name": name, "sql": sql, "answer": answer}) + "\n")
        self.proc.stdin.flush()
        reply = json.loads(self.proc.stdout.readline())
        if "error" in reply:
            raise RuntimeError(f"{self.name} {name}: {reply['error']}")
        reply["rss"] = self.hwm_mib()
        self.peak_mib = max(self.peak_mib, reply["rss"])
        return reply

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


class AbacusServe(Worker):
    """`abacus serve` on 127.0.0.1 queried with psycopg: a long-lived Abacus process without
    the Rust bench executable. Times include the PostgreSQL wire protocol (text results)."""

    def __init__(self, abacus, db, threads):
        import psycopg
        self.name = "abacus"
        self.proc = subprocess.Popen([abacus, "--data", db, "--threads", str(threads), "serve",
                                      "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE, text=True)
        port = self.proc.stdout.readline().strip().rsplit(":", 1)[1]
        self.conn = psycopg.connect(host="127.0.0.1", port=port, dbname="abacus", user="bench", autocommit=True)
        self.version = ""
        self.peak_mib = 0.0

    def run(self, name, sql, answer=False):
        try:
            start = time.perf_counter()
            with self.conn.cursor() as cur:
                cur.execute(sql, prepare=False)
                rows = cur.fetchall()
            seconds = time.perf_counter() - start
        except Exception as e:
            raise RuntimeError(f"abacus {name}: {e}")
        reply = {"name": name, "seconds": seconds, "rows": len(rows), "rss": self.hwm_mib()}
        self.peak_mib = max(self.peak_mib, reply["rss"])
        return reply

    def close(self):
        self.conn.close()
        self.proc.terminate()
        self.proc.wait()


class Cli:
    """`abacus -c` per run: wall time of the process, its own peak RSS."""

    def __init__(self, abacus, db, threads):
        self.name = "abacus-cli"
        self.cmd = [abacus, "--data", db, "--threads", str(threads), "--format", "csv", "-c"]
        self.peak_mib = 0.0

    def reset_peak(self):
        pass

    def run(self, name, sql, answer=False):
        start = time.perf_counter()
        p = subprocess.Popen(self.cmd + [sql], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(p.pid, 0)
        seconds = time.perf_counter() - start
        err = p.stderr.read().decode()
        p.stderr.close()
        if status != 0:
            raise RuntimeError(f"abacus-cli {name}: {err}")
        rss = usage.ru_maxrss / 1024
        self.peak_mib = max(self.peak_mib, rss)
        return {"name": name, "seconds": seconds, "rss": rss}

    def close(self):
        pass


def interleaved(engines, items, runs):
    """{(item, engine): {"s": median seconds, "rss": peak MiB, "rows": n}} plus answer checks."""
    results, notes = {}, []
    for name, sql in items:
        answers = {}
        for e in engines:  # warm-up; answers from the Rust workers are compared as text
            e.reset_peak()
            r = e.run(name, sql, answer=True)
            answers[e.name] = (r.get("rows"), r.get("answer"))
        rows = {k: v[0] for k, v in answers.items() if v[0] is not None}
        if len(set(rows.values())) > 1:
            notes.append(f"{name}: row counts differ {rows}")
        texts = {k: v[1] for k, v in answers.items() if v[1]}
        if len(set(texts.values())) > 1:
            notes.append(f"{name}: Abacus and DataFusion answers differ as text")
        times = {e.name: [] for e in engines}
        rss = {e.name: 0.0 for e in engines}
        for _ in range(runs):
            for e in engines:
                e.reset_peak()
                r = e.run(name, sql)
                times[e.name].append(r["seconds"])
                rss[e.name] = max(rss[e.name], r["rss"])
        for e in engines:
            results[(name, e.name)] = {"s": statistics.median(times[e.name]), "rss": rss[e.name],
                                       "rows": rows.get(e.name), "runs": times[e.name]}
        log(name + ": " + ", ".join(f"{e.name} {results[(name, e.name)]['s']:.3f}s" for e in engines))
    return results, notes


def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def tpch_table(results, engines, names):
    cols = [e for e in ["duckdb", "datafusion", "datafusion-delta", "abacus", "abacus-cli"] if e in engines]
    title = {"duckdb": "DuckDB", "datafusion": "DataFusion", "datafusion-delta": "DataFusion over Abacus's files",
             "abacus": "Abacus", "abacus-cli": "Abacus CLI"}
    out = ["| query | " + " | ".join(f"{title[c]} s" for c in cols)
           + " | Abacus / DuckDB | Abacus / DataFusion | " + " | ".join(f"{title[c]} peak MiB" for c in cols) + " |",
           "|---" * (1 + 2 * len(cols) + 2) + "|"]
    for q in names:
        s = {c: results[(q, c)]["s"] for c in cols}
        out.append(f"| {q} | " + " | ".join(f"{s[c]:.3f}" for c in cols)
                   + f" | {s['abacus'] / s['duckdb']:.2f} | {s['abacus'] / s['datafusion']:.2f} | "
                   + " | ".join(f"{results[(q, c)]['rss']:.0f}" for c in cols) + " |")
    tot = {c: sum(results[(q, c)]["s"] for q in names) for c in cols}
    geo = {c: geomean([results[(q, c)]["s"] for q in names]) for c in cols}
    peak = {c: max(results[(q, c)]["rss"] for q in names) for c in cols}
    out.append("| **total** | " + " | ".join(f"**{tot[c]:.2f}**" for c in cols)
               + f" | **{tot['abacus'] / tot['duckdb']:.2f}** | **{tot['abacus'] / tot['datafusion']:.3f}** | "
               + " | ".join(f"**{peak[c]:.0f}**" for c in cols) + " |")
    out.append("| geometric mean | " + " | ".join(f"{geo[c]:.4f}" for c in cols)
               + f" | {geo['abacus'] / geo['duckdb']:.2f} | {geo['abacus'] / geo['datafusion']:.3f} | "
               + " | " * (len(cols) - 1) + " |")
    return "\n".join(out)


def csv_ingest(args, abacus, threads, runs):
    """10M-row CSV into a fresh on-disk table: Abacus COPY vs DuckDB CREATE TABLE AS read_csv."""
    import duckdb
    path = os.path.join(args.data_root, f"ingest-{args.csv_rows}.csv")
    if not os.path.exists(path):
        log(f"writing {path}")
        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")
        con.execute(f"""
            COPY (SELECT i AS id, (i * 7919) % 1000003 AS user_id,
                         TIMESTAMP '2026-01-01' + to_seconds(i) AS at,
                         round(((i * 2654435761) % 100000) / 100.0, 2) AS amount,
                         ['DE', 'FR', 'US', 'JP', 'BR'][1 + i % 5] AS country,
                         CASE WHEN i % 2 = 0 THEN 'A' ELSE 'B' END AS variant,
                         (i % 7 = 0) AS converted
                  FROM range({args.csv_rows}) t(i)) TO '{path}' (HEADER)""")
    size_mb = os.path.getsize(path) / 1e6
    duck_script = ("import duckdb,sys,time,json;c=duckdb.connect(sys.argv[1]);c.execute(f'SET threads={sys.argv[3]}');c.execute('SET enable_progress_bar=false');"
                   "t=time.perf_counter();c.execute(f\"CREATE TABLE t AS SELECT * FROM read_csv('{sys.argv[2]}')\");"
                   "c.execute('CHECKPOINT');print(json.dumps({'s':time.perf_counter()-t}))")

    def one(engine):
        tmp = tempfile.mkdtemp(prefix="abacus-ingest-", dir=args.data_root)
        try:
            if engine == "abacus":
                start = time.perf_counter()
                p = subprocess.Popen([abacus, "--data", tmp, "--threads", str(threads), "-c",
                                      f"COPY t FROM '{path}'"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                _, status, usage = os.wait4(p.pid, 0)
                s = time.perf_counter() - start
                if status != 0:
                    raise RuntimeError(p.stderr.read().decode())
                p.stderr.close()
                return s, usage.ru_maxrss / 1024
            p = subprocess.Popen([sys.executable, "-c", duck_script, os.path.join(tmp, "db.duckdb"), path, str(threads)],
                                 stdout=subprocess.PIPE)
            _, status, usage = os.wait4(p.pid, 0)
            out = p.stdout.read().decode()
            p.stdout.close()
            if status != 0:
                raise RuntimeError("duckdb ingest failed")
            return json.loads(out)["s"], usage.ru_maxrss / 1024
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    res = {"abacus": [], "duckdb": []}
    for e in res:
        one(e)  # warm-up (page cache)
    for _ in range(runs):
        for e in res:
            res[e].append(one(e))
    med = {e: statistics.median(s for s, _ in v) for e, v in res.items()}
    rss = {e: max(r for _, r in v) for e, v in res.items()}
    lines = [f"CSV: {args.csv_rows:,} rows, 7 columns, {size_mb:.0f} MB; schema inferred by both; "
             "each run into a fresh directory. DuckDB time is measured inside its process "
             "(import excluded); Abacus's is the whole `abacus -c` process.", "",
             "| engine | median s | rows/s | MB/s | peak RSS MiB |", "|---|---|---|---|---|"]
    for e, label in [("abacus", "Abacus `COPY t FROM 'x.csv'`"),
                     ("duckdb", "DuckDB `CREATE TABLE t AS SELECT * FROM read_csv('x.csv')`")]:
        lines.append(f"| {label} | {med[e]:.2f} | {args.csv_rows / med[e] / 1e6:.1f} M | "
                     f"{size_mb / med[e]:.0f} | {rss[e]:.0f} |")
    lines.append(f"\nAbacus / DuckDB: {med['abacus'] / med['duckdb']:.2f}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sf", default="1", help="scale factors, comma-separated (1,3,10)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--data-root", default=os.path.expanduser("~/.cache/abacus/tpch"))
    ap.add_argument("--target-dir", default=os.environ.get(
        "CARGO_TARGET_DIR", os.path.expanduser("~/.cache/abacus/target-release")))
    ap.add_argument("--tpchgen", help="path of tpchgen-cli")
    ap.add_argument("--skip-build", action="store_true", help="use the binaries already built")
    ap.add_argument("--abacus", help="with --bench-bin: use these binaries, no cargo")
    ap.add_argument("--bench-bin", help="the tpch bench executable")
    ap.add_argument("--python-peers", action="store_true",
                    help="without the Rust bench executable: DataFusion from the `datafusion` Python package, "
                         "Abacus through `abacus serve` + psycopg (tables loaded beforehand with COPY)")
    ap.add_argument("--delta-files", action="store_true",
                    help="with --python-peers: also DataFusion over the Parquet files of Abacus's Delta tables "
                         "(separates the file layout from the cost of the Delta scan)")
    ap.add_argument("--profile-label", default="dist",
                    help="cargo profile the binaries were built with, for the report (with --abacus/--bench-bin)")
    ap.add_argument("--queries", help="subset, e.g. 1,6,17")
    ap.add_argument("--csv-rows", type=int, default=10_000_000)
    ap.add_argument("--no-ingest", action="store_true")
    ap.add_argument("--no-inprocess", action="store_true", help="skip the one-process Rust comparison")
    ap.add_argument("--out", help="also write the Markdown here")
    args = ap.parse_args()

    abacus, bench = build(args)
    names = QUERIES if not args.queries else [f"q{q.strip().lstrip('q')}" for q in args.queries.split(",")]
    sql = {q: open(os.path.join(HERE, "tpch", "queries", f"{q}.sql")).read() for q in QUERIES}
    import duckdb
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = next((int(l.split()[1]) / 1024 / 1024 for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    report = [f"Machine: {cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, {platform.system()} {platform.release()}; "
              f"load average before the run {os.getloadavg()[0]:.2f}. Abacus {rev} ({args.profile_label} profile), "
              f"DuckDB {duckdb.__version__}, " + (
                  "DataFusion " + __import__("datafusion").__version__ + " (Python package; Abacus through `abacus serve` "
                  "and psycopg)" if args.python_peers else "DataFusion 55 (the engine's own)") + f". Threads: {args.threads}; "
              f"median of {args.runs} after one warm-up, engines interleaved per query.", ""]
    per_sf_totals = []
    for sf in [s.strip() for s in args.sf.split(",")]:
        data = os.path.join(args.data_root, f"sf{sf}")
        generate(args, sf, data)
        db = os.path.join(data, "abacus-db")
        log(f"SF{sf}: starting engines (Abacus loads its tables with COPY on first use)")
        t = time.perf_counter()
        if args.python_peers:
            if not os.path.isdir(db):
                for table in TABLES:
                    subprocess.run([abacus, "--data", db, "--threads", str(args.threads), "-c",
                                    f"COPY {table} FROM '{data}/{table}.parquet'"], check=True)
            # Tables loaded by a build before COPY recorded its files' key order: check them
            # now (a no-op for files already checked).
            subprocess.run([abacus, "--data", db, "--threads", str(args.threads), "-c", "ANALYZE"],
                           check=True, stdout=subprocess.DEVNULL)
            workers = [AbacusServe(abacus, db, args.threads),
                       Worker("datafusion", [sys.executable, "-c", DATAFUSION_PY_WORKER, data, str(args.threads)])]
            if args.delta_files:
                workers.append(Worker("datafusion-delta", [sys.executable, "-c", DATAFUSION_PY_WORKER, db,
                                                           str(args.threads), "delta"]))
        else:
            workers = [Worker("abacus", [bench, "--worker", "abacus", "--data", data, "--db", db,
                                         "--threads", str(args.threads)]),
                       Worker("datafusion", [bench, "--worker", "datafusion", "--data", data,
                                             "--threads", str(args.threads)])]
        log(f"abacus and datafusion workers ready in {time.perf_counter() - t:.1f} s")
        workers.append(Worker("duckdb", [sys.executable, "-c", DUCKDB_WORKER, data, str(args.threads)]))
        engines = [workers[-1]] + workers[1:-1] + [workers[0], Cli(abacus, db, args.threads)]
        results, notes = interleaved(engines, [(q, sql[q]) for q in names], args.runs)
        scans, scan_notes = interleaved(engines, list(SCANS.items()), args.runs)
        for w in workers:
            w.close()
        report += [f"### TPC-H SF{sf}", "", tpch_table(results, [e.name for e in engines], names), ""]
        if notes or scan_notes:
            report += ["Answer checks: " + "; ".join(notes + scan_notes), ""]
        else:
            report += ["Answer checks: every engine returned the same row counts" + (
                "." if args.python_peers else "; Abacus's and DataFusion's answers are identical as text."), ""]
        nrows = int(subprocess.run(
            [sys.executable, "-c", "import pyarrow.parquet as pq, sys; "
             "print(pq.ParquetFile(sys.argv[1]).metadata.num_rows)", f"{data}/lineitem.parquet"],
            capture_output=True, text=True, check=True).stdout)
        report += [f"Full scans of lineitem ({nrows:,} rows) with a filter; M rows scanned per second:", "",
                   "| scan | " + " | ".join(f"{e.name} s" for e in engines) + " | "
                   + " | ".join(f"{e.name} M rows/s" for e in engines) + " |",
                   "|---" * (1 + 2 * len(engines)) + "|"]
        for s in SCANS:
            report.append(f"| {s}: `{SCANS[s]}` | " + " | ".join(f"{scans[(s, e.name)]['s']:.3f}" for e in engines)
                          + " | " + " | ".join(f"{nrows / scans[(s, e.name)]['s'] / 1e6:.0f}" for e in engines) + " |")
        report.append("")
        per_sf_totals.append((sf, {e.name: sum(results[(q, e.name)]["s"] for q in names) for e in engines}))
        if not args.no_inprocess and bench:
            log(f"SF{sf}: one-process comparison (cargo bench --bench tpch)")
            qs = ["--queries", ",".join(names)] if args.queries else []
            out = subprocess.run([bench, "--bench", "--data", data, "--db", db, "--threads", str(args.threads),
                                  "--runs", str(args.runs)] + qs, capture_output=True, text=True, check=True).stdout
            report += [f"One process, Abacus session and DataFusion context side by side "
                       f"(`cargo bench --profile {args.profile_label} --bench tpch -- --data {data}`):", "", out.strip(), ""]
    if len(per_sf_totals) > 1:
        report += ["### Time per scale factor (sum of the 22 medians, s)", "",
                   "| SF | " + " | ".join(per_sf_totals[0][1]) + " |", "|---" * (1 + len(per_sf_totals[0][1])) + "|"]
        for sf, tot in per_sf_totals:
            report.append(f"| {sf} | " + " | ".join(f"{v:.2f}" for v in tot.values()) + " |")
        report.append("")
    if not args.no_ingest:
        log("CSV ingest")
        report += ["### CSV ingest", "", csv_ingest(args, abacus, args.threads, args.runs), ""]
    text = "\n".join(report)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
