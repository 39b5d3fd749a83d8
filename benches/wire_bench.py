#!/usr/bin/env python3
"""The PostgreSQL wire protocol: Abacus (`abacus serve`) against PostgreSQL 15, same table.

    python3 benches/wire_bench.py target/release/abacus [--rows 10000000] [--runs 3]

Starts PostgreSQL (its own cluster: initdb + pg_ctl under a temporary directory, run as the
`postgres` user when this runs as root, listening only on 127.0.0.1 on a free port) and
`abacus serve` on a temporary data directory, and creates the same table in both:

    t(id BIGINT, user_id BIGINT, amount DOUBLE, at TIMESTAMP, name TEXT, flag BOOLEAN)

Then, after one warm-up COPY per engine, engines interleaved (their order alternating between
runs), --runs measured runs each, it times

  psql            psql -A -t -c "SELECT * FROM t" > /dev/null   (simple protocol, text)
  copy_text       psql -c "COPY t TO STDOUT" > /dev/null
  copy_binary     psql -c "COPY t TO STDOUT WITH (FORMAT binary)" > /dev/null
  libpq_text      PQexec("SELECT * FROM t") into a PGresult (psycopg.pq, no Python objects)
  libpq_binary    PQexecParams(…, resultFormat=1)
  psycopg_text    psycopg 3 cursor.execute + fetchall (Python tuples)
  psycopg_binary  the same with cursor(binary=True)
  select1         pgbench -n -f "SELECT 1;" -M simple|extended, 1, 4 and 16 clients

and prints medians: rows/s (round trips/s for select1), the ratio Abacus / PostgreSQL (above
1 means Abacus is faster), and the server's CPU seconds per run (Abacus: the process;
PostgreSQL: the postmaster's reaped children, i.e. the backends). Every client runs as its own
process; its CPU time comes from wait4. `--json FILE` writes every measurement.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

PG_BIN = "/usr/lib/postgresql/15/bin"
EPOCH = 1_767_225_600  # 2026-01-01 00:00:00

ABACUS_CREATE = (
    "CREATE TABLE t AS SELECT value AS id, value % 50000 AS user_id, "
    "(value % 100000) / 100.0 AS amount, "
    f"CAST(to_timestamp_seconds({EPOCH} + value) AS TIMESTAMP) AS at, "
    "'name_' || (value % 1000) AS name, value % 2 = 0 AS flag "
    # BIGINT bounds keep the columns int8 like PostgreSQL's (int4 literals give int4).
    "FROM generate_series(1, CAST({rows} AS BIGINT))"
)
PG_CREATE = (
    "CREATE TABLE t AS SELECT g AS id, g % 50000 AS user_id, "
    "((g % 100000) / 100.0)::float8 AS amount, "
    f"(to_timestamp({EPOCH} + g) AT TIME ZONE 'UTC')::timestamp AS at, "
    "'name_' || (g % 1000) AS name, g % 2 = 0 AS flag "
    "FROM generate_series(1::bigint, {rows}) AS g"
)
CHECK = (
    "SELECT count(*), sum(id), sum(user_id), sum(amount), min(at), max(at), "
    "count(DISTINCT name), sum(CASE WHEN flag THEN 1 ELSE 0 END) FROM t"
)

STREAMS = ["psql", "copy_text", "copy_binary", "libpq_text", "libpq_binary", "psycopg_text", "psycopg_binary"]

CLIENT_PY = r"""
import json, sys, time
import psycopg
from psycopg import pq
dsn, kind, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
if kind.startswith("libpq"):
    conn = pq.PGconn.connect(dsn.encode())
    assert conn.status == pq.ConnStatus.OK, conn.error_message
    t0 = time.perf_counter()
    if kind == "libpq_text":
        res = conn.exec_(b"SELECT * FROM t")
    else:
        res = conn.exec_params(b"SELECT * FROM t", [], result_format=1)
    dt = time.perf_counter() - t0
    assert res.status == pq.ExecStatus.TUPLES_OK, res.error_message
    n = res.ntuples
else:
    conn = psycopg.connect(dsn, autocommit=True)
    cur = conn.cursor(binary=kind == "psycopg_binary")
    t0 = time.perf_counter()
    cur.execute("SELECT * FROM t")
    out = cur.fetchall()
    dt = time.perf_counter() - t0
    n = len(out)
assert n == rows, (n, rows)
print(json.dumps({"seconds": dt}))
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid, children):
    """utime+stime (and, for PostgreSQL, the reaped children's) of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    # fields[0] is field 3 (state); utime=14, stime=15, cutime=16, cstime=17.
    total = int(fields[11]) + int(fields[12])
    if children:
        total += int(fields[13]) + int(fields[14])
    return total / tick


def run_client(cmd, stdout=subprocess.DEVNULL, shell=False):
    """Runs a client to completion: (wall seconds, client CPU seconds, stdout or None)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE, shell=shell)
    out = proc.stdout.read() if stdout == subprocess.PIPE else None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd!r} exited {proc.returncode}: {err.decode(errors='replace')[-2000:]}")
    if err.strip():
        raise RuntimeError(f"{cmd!r} wrote to stderr: {err.decode(errors='replace')[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, out


class Engine:
    name = ""

    def psql(self, *args):
        return [
            "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
            "-U", self.user, "-d", self.db, *args,
        ]

    def dsn(self):
        return f"host=127.0.0.1 port={self.port} user={self.user} dbname={self.db} sslmode=disable"

    def sql(self, query):
        _, _, out = run_client(self.psql("-A", "-t", "-c", query), stdout=subprocess.PIPE)
        return out.decode().strip()

    def cpu(self):
        return cpu_seconds(self.pid, self.name == "postgresql")

    def settle(self):
        pass


class Abacus(Engine):
    name = "abacus"
    user = db = "abacus"

    def __init__(self, binary, root, extra):
        self.data = os.path.join(root, "abacus")
        self.log = open(os.path.join(root, "abacus.log"), "w")
        self.proc = subprocess.Popen(
            [binary, "--data", self.data, "serve", "--listen", "127.0.0.1:0", *extra],
            stdout=subprocess.PIPE, stderr=self.log, text=True,
        )
        line = self.proc.stdout.readline()
        if not line.startswith("listening on 127.0.0.1:"):
            sys.exit(f"abacus serve: unexpected first line {line!r}")
        self.port = int(line.strip().rsplit(":", 1)[1])
        self.pid = self.proc.pid
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()
        self.version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()

    def create(self, rows):
        self.sql(ABACUS_CREATE.format(rows=rows))

    def rss_mib(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return 0

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Postgres(Engine):
    name = "postgresql"
    user = db = "postgres"

    def __init__(self, pg_bin, root):
        self.bin = pg_bin
        self.dir = os.path.join(root, "pg")
        os.makedirs(self.dir)
        self.as_user = []
        if os.geteuid() == 0:
            shutil.chown(root, "postgres")
            shutil.chown(self.dir, "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.data = os.path.join(self.dir, "data")
        subprocess.run(
            self.as_user + [f"{pg_bin}/initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"],
            check=True, stdout=subprocess.DEVNULL,
        )
        self.port = free_port()
        opts = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.dir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        subprocess.run(
            self.as_user + [f"{pg_bin}/pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "log"), "-o", opts, "-w", "start"],
            check=True, stdout=subprocess.DEVNULL,
        )
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            self.pid = int(f.readline())
        self.version = self.sql("SHOW server_version")

    def children(self):
        with open(f"/proc/{self.pid}/task/{self.pid}/children") as f:
            return len(f.read().split())

    def settle(self):
        """Waits until the backends of the last clients have exited and been reaped, so that
        their CPU time is in the postmaster's cutime/cstime."""
        deadline = time.monotonic() + 5
        while self.children() > self.idle_children and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)

    def create(self, rows):
        self.idle_children = self.children()
        self.sql(PG_CREATE.format(rows=rows))
        self.sql("VACUUM (FREEZE, ANALYZE) t")

    def stop(self):
        subprocess.run(
            self.as_user + [f"{self.bin}/pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop"],
            stdout=subprocess.DEVNULL,
        )


def stream(engine, kind, rows):
    """One streaming run: (wall s, client CPU s, server CPU s)."""
    engine.settle()
    before = engine.cpu()
    if kind == "psql":
        wall, client, _ = run_client(engine.psql("-A", "-t", "-c", "SELECT * FROM t"))
    elif kind == "copy_text":
        wall, client, _ = run_client(engine.psql("-c", "COPY t TO STDOUT"))
    elif kind == "copy_binary":
        wall, client, _ = run_client(engine.psql("-c", "COPY t TO STDOUT WITH (FORMAT binary)"))
    else:
        wall, client, out = run_client(
            [sys.executable, "-c", CLIENT_PY, engine.dsn(), kind, str(rows)], stdout=subprocess.PIPE
        )
        wall = json.loads(out)["seconds"]  # the query alone, without Python's start-up
    engine.settle()
    return wall, client, engine.cpu() - before


def select1(engine, mode, clients, seconds, script):
    engine.settle()
    before = engine.cpu()
    _, client, out = run_client(
        [
            "pgbench", "-n", "-f", script, "-M", mode, "-c", str(clients), "-j", str(clients),
            "-T", str(seconds), "-h", "127.0.0.1", "-p", str(engine.port), "-U", engine.user, engine.db,
        ],
        stdout=subprocess.PIPE,
    )
    engine.settle()
    text = out.decode()
    if "tps =" not in text:
        raise RuntimeError(f"pgbench on {engine.name} printed no tps:\n{text}")
    failed = [l for l in text.splitlines() if l.startswith("number of failed transactions") and not l.split(":")[1].strip().startswith("0 ")]
    if failed:
        raise RuntimeError(f"pgbench on {engine.name}: {failed[0]}")
    tps = next(float(l.split("=")[1].split()[0]) for l in text.splitlines() if l.startswith("tps ="))
    return tps, client, engine.cpu() - before


def fmt_rate(x):
    return f"{x / 1e6:.2f} M" if x >= 1e6 else f"{x / 1e3:.1f} k"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("abacus", help="the abacus binary (release build)")
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=8, help="each SELECT 1 run")
    ap.add_argument("--pg-bin", default=PG_BIN)
    ap.add_argument("--only", help="comma-separated subset of: " + ",".join(STREAMS + ["select1"]))
    ap.add_argument("--select1", default="simple:1,simple:4,simple:16,extended:1,extended:16",
                    help="pgbench protocol:clients pairs")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--json")
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else set(STREAMS + ["select1"])

    root = tempfile.mkdtemp(prefix="abacus-wire-bench-")
    os.chmod(root, 0o755)
    engines = []
    try:
        pg = Postgres(args.pg_bin, root)
        engines.append(pg)
        ab = Abacus(os.path.abspath(args.abacus), root, [])
        engines.append(ab)
        print(f"PostgreSQL {pg.version} on 127.0.0.1:{pg.port}; {ab.version} on 127.0.0.1:{ab.port}; {args.rows} rows", flush=True)
        for e in engines:
            t0 = time.perf_counter()
            e.create(args.rows)
            print(f"  {e.name}: created t in {time.perf_counter() - t0:.1f} s; check: {e.sql(CHECK)}", flush=True)
        print(f"  sample abacus:     {ab.sql('SELECT * FROM t WHERE id = 12345')}")
        print(f"  sample postgresql: {pg.sql('SELECT * FROM t WHERE id = 12345')}", flush=True)

        script = os.path.join(root, "select1.sql")
        with open(script, "w") as f:
            f.write("SELECT 1;\n")
        os.chmod(script, 0o644)
        tests = [(k, None) for k in STREAMS if k in only]
        if "select1" in only:
            tests += [("select1", tuple(p.split(":"))) for p in args.select1.split(",")]

        results = {}  # (test label, engine) -> list of (value, client cpu, server cpu)
        for e in engines:  # warm-up: the table's files into the page cache, code paths hot
            wall, _, _ = stream(e, "copy_binary", args.rows)
            print(f"  warm-up copy_binary {e.name:<10} {fmt_rate(args.rows / wall)}/s", flush=True)
        for run in range(1, args.runs + 1):
            order = engines if run % 2 == 0 else engines[::-1]
            for kind, param in tests:
                label = kind if param is None else f"select1 {param[0]} x{param[1]}"
                for e in order:
                    if kind == "select1":
                        value, client, server = select1(e, param[0], int(param[1]), args.seconds, script)
                    else:
                        wall, client, server = stream(e, kind, args.rows)
                        value = args.rows / wall
                    print(f"  run {run} {label:<22} {e.name:<10} "
                          f"{fmt_rate(value)}/s  client cpu {client:.2f} s  server cpu {server:.2f} s", flush=True)
                    results.setdefault((label, e.name), []).append((value, client, server))

        print()
        print(f"Medians of {args.runs} runs; rows/s for streams ({args.rows} rows), round trips/s for SELECT 1;")
        print("ratio = Abacus / PostgreSQL (above 1: Abacus faster); CPU = seconds per run.")
        print()
        print("| test | Abacus | PostgreSQL | Abacus / PG | Abacus server CPU s | PG server CPU s | client CPU s (Abacus / PG) |")
        print("|---|---|---|---|---|---|---|")
        labels = list(dict.fromkeys(label for label, _ in results))
        summary = {}
        for label in labels:
            a = results[(label, "abacus")]
            p = results[(label, "postgresql")]
            med = lambda xs, i: statistics.median(x[i] for x in xs)  # noqa: E731
            summary[label] = {
                "abacus": med(a, 0), "postgresql": med(p, 0),
                "abacus_server_cpu": med(a, 2), "postgresql_server_cpu": med(p, 2),
                "abacus_client_cpu": med(a, 1), "postgresql_client_cpu": med(p, 1),
                "runs": {"abacus": a, "postgresql": p},
            }
            unit = "/s"
            print(f"| {label} | {fmt_rate(med(a, 0))}{unit} | {fmt_rate(med(p, 0))}{unit} | {med(a, 0) / med(p, 0):.2f} "
                  f"| {med(a, 2):.2f} | {med(p, 2):.2f} | {med(a, 1):.2f} / {med(p, 1):.2f} |")
        print(f"\nabacus serve peak RSS (VmHWM): {ab.rss_mib():.0f} MiB")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"rows": args.rows, "runs": args.runs, "pg": pg.version, "abacus": ab.version,
                           "abacus_peak_rss_mib": ab.rss_mib(), "results": summary}, f, indent=1)
    finally:
        for e in engines:
            e.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
