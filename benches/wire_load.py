#!/usr/bin/env python3
"""Load test for `abacus serve`: many psycopg 3 clients issuing a query mix at once.

    python3 benches/wire_load.py target/release/abacus [--clients 64] [--seconds 60] [--rows 1000000]

Starts `abacus serve` on a temporary data directory (127.0.0.1, a free port), creates a table
of --rows rows through the wire, then runs --clients threads, each with its own connection,
for --seconds. Each client picks from a mix of

  point      SELECT … WHERE id = $1                 (extended protocol, auto-prepared by psycopg)
  simple     the same point lookup as literal SQL     (simple query protocol, psycopg ClientCursor)
  agg        GROUP BY over an id range, and over the whole table
  scan_text  200 rows in text format
  scan_bin   200 rows in binary format (cursor binary=True)
  prepared   a server-side prepared statement (prepare=True) with a parameter
  tx         BEGIN; two statements; COMMIT
  error      a failing query that must give the expected SQLSTATE (22012, 42P01, 42703, 42601),
             in autocommit or inside a transaction; the next query on the connection must work

and checks every answer against what the generated data must give. It reports the queries
completed, the expected and unexpected errors, throughput, p50/p99 latency (overall and per
kind) and the server's peak RSS (VmHWM) and RSS at the end (read from /proc/PID/status).
Exits non-zero on any unexpected error, on a stuck client, or if the server dies or does not
exit cleanly on SIGTERM. `--json FILE` also writes the summary as JSON.
"""
import argparse
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback

import logging

import psycopg

USERS = 50_000  # user_id = id % USERS
NAMES = 1_000  # name = 'name_' || (id % NAMES)
EPOCH = 1_767_225_600  # 2026-01-01 00:00:00 UTC; at = EPOCH + id seconds

CREATE = (
    "CREATE TABLE t AS SELECT value AS id, value % {users} AS user_id, "
    "(value % 100000) / 100.0 AS amount, "
    "CAST(to_timestamp_seconds({epoch} + value) AS TIMESTAMP) AS at, "
    "'name_' || (value % {names}) AS name, value % 2 = 0 AS flag "
    "FROM generate_series(1, {rows})"
)

ERRORS = [
    ("SELECT 1 / 0", "22012"),
    ("SELECT * FROM no_such_table", "42P01"),
    ("SELECT no_such_column FROM t", "42703"),
    ("SELEC 1", "42601"),
]

WEIGHTS = {
    "point": 25,
    "simple": 8,
    "agg": 12,
    "scan_text": 15,
    "scan_bin": 15,
    "prepared": 12,
    "tx": 6,
    "error": 7,
}


class Unexpected(Exception):
    pass


class SwallowedErrors(logging.Handler):
    """Errors psycopg logs instead of raising, e.g. a failed `DEALLOCATE ALL` when it rolls
    back a transaction: the server answered something the client did not expect."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append((record.threadName, record.getMessage()))


def check(cond, what):
    if not cond:
        raise Unexpected(what)


def proc_status(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmHWM", "VmRSS", "Threads"):
                    out[key] = int(value.split()[0])  # kB (Threads: a count)
    except OSError:
        pass
    return out


def start_server(binary, data, extra):
    log = open(os.path.join(os.path.dirname(data), "server.log"), "w+")
    proc = subprocess.Popen(
        [binary, "--data", data, "serve", "--listen", "127.0.0.1:0", *extra],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    line = proc.stdout.readline()
    if not line.startswith("listening on 127.0.0.1:"):
        proc.kill()
        log.seek(0)
        sys.exit(f"unexpected first line {line!r}; server log:\n{log.read()}")
    port = int(line.strip().rsplit(":", 1)[1])
    # Keep draining stdout so the server never blocks on a full pipe.
    threading.Thread(target=lambda: proc.stdout.read(), daemon=True).start()
    return proc, port, log


def connect(port, **kw):
    return psycopg.connect(
        host="127.0.0.1",
        port=port,
        user="abacus",
        dbname="abacus",
        sslmode="disable",
        connect_timeout=30,
        **kw,
    )


class Client(threading.Thread):
    def __init__(self, n, port, rows, deadline, seed):
        super().__init__(name=f"client-{n}", daemon=True)
        self.port, self.rows, self.deadline = port, rows, deadline
        self.rng = random.Random(seed)
        self.lat = {k: [] for k in WEIGHTS}
        self.expected_errors = 0
        self.unexpected = []  # (kind, message)
        self.done = False
        self.kinds = list(WEIGHTS)
        self.weights = [WEIGHTS[k] for k in self.kinds]

    def run(self):
        try:
            self.conn = connect(self.port, autocommit=True)
        except Exception as e:  # noqa: BLE001 - reported, not raised
            self.unexpected.append(("connect", repr(e)))
            self.done = True
            return
        while time.monotonic() < self.deadline:
            kind = self.rng.choices(self.kinds, self.weights)[0]
            started = time.perf_counter()
            try:
                getattr(self, "q_" + kind)()
            except Unexpected as e:
                self.unexpected.append((kind, str(e)))
            except Exception as e:  # noqa: BLE001
                self.unexpected.append((kind, f"{type(e).__name__}: {e}"))
                if self.conn.closed or self.conn.broken:
                    break
                continue
            self.lat[kind].append(time.perf_counter() - started)
        try:
            self.conn.close()
        except Exception:  # noqa: BLE001
            pass
        self.done = True

    def key(self):
        return self.rng.randint(1, self.rows)

    def expect_row(self, k, row):
        check(row is not None, f"no row for id {k}")
        check(
            row[0] == k and row[1] == k % USERS and row[3] == f"name_{k % NAMES}" and row[4] == (k % 2 == 0),
            f"wrong row for id {k}: {row!r}",
        )
        check(abs(float(row[2]) - (k % 100000) / 100.0) < 1e-9, f"wrong amount for id {k}: {row!r}")

    def q_point(self):
        k = self.key()
        cur = self.conn.execute("SELECT id, user_id, amount, name, flag FROM t WHERE id = %s", (k,))
        rows = cur.fetchall()
        check(len(rows) == 1, f"id {k}: {len(rows)} rows")
        self.expect_row(k, rows[0])

    def q_simple(self):
        k = self.key()
        cur = psycopg.ClientCursor(self.conn)
        cur.execute(f"SELECT id, user_id, amount, name, flag FROM t WHERE id = {k}")
        self.expect_row(k, cur.fetchone())
        check(cur.fetchone() is None, f"id {k}: more than one row")

    def q_agg(self):
        if self.rng.random() < 0.2:
            cur = self.conn.execute("SELECT flag, count(*) AS n, sum(user_id) AS s FROM t GROUP BY flag ORDER BY flag")
            got = {r[0]: r[1] for r in cur.fetchall()}
            want = {False: (self.rows + 1) // 2, True: self.rows // 2}
            check(got == want, f"flag counts {got} != {want}")
            return
        lo = self.rng.randint(1, max(1, self.rows - 10_000))
        hi = min(self.rows, lo + 9_999)
        cur = self.conn.execute(
            "SELECT id %% 10 AS g, count(*) AS n, sum(amount) AS s, min(at) AS first "
            "FROM t WHERE id BETWEEN %s AND %s GROUP BY g ORDER BY g",
            (lo, hi),
        )
        got = cur.fetchall()
        want = {}
        for i in range(lo, hi + 1):
            want[i % 10] = want.get(i % 10, 0) + 1
        check([(r[0], r[1]) for r in got] == sorted(want.items()), f"agg {lo}..{hi}: {got!r}")

    def scan(self, binary):
        lo = self.rng.randint(1, max(1, self.rows - 200))
        hi = min(self.rows + 1, lo + 200)
        cur = self.conn.cursor(binary=binary)
        cur.execute("SELECT id, user_id, amount, name, flag, at FROM t WHERE id >= %s AND id < %s", (lo, hi))
        rows = cur.fetchall()
        check(sorted(r[0] for r in rows) == list(range(lo, hi)), f"scan {lo}..{hi}: {len(rows)} rows")
        for r in rows[:3]:
            self.expect_row(r[0], r)
            check(r[5].year == 2026, f"timestamp {r[5]!r}")

    def q_scan_text(self):
        self.scan(False)

    def q_scan_bin(self):
        self.scan(True)

    def q_prepared(self):
        u = self.rng.randint(0, USERS - 1)
        cur = self.conn.execute(
            "SELECT count(*) AS n, min(id) AS first FROM t WHERE user_id = %s", (u,), prepare=True
        )
        n, first = cur.fetchone()
        want = self.rows // USERS + (1 if 0 < u <= self.rows % USERS else 0)
        want_first = (u if u > 0 else USERS) if want else None
        check((n, first) == (want, want_first), f"user {u}: {(n, first)} != {(want, want_first)}")

    def q_tx(self):
        k = self.key()
        with self.conn.transaction():
            cur = self.conn.execute("SELECT id, user_id, amount, name, flag FROM t WHERE id = %s", (k,))
            self.expect_row(k, cur.fetchone())
            cur = self.conn.execute("SELECT count(*) FROM t WHERE id <= %s", (k,))
            check(cur.fetchone() == (k,), f"count(id <= {k})")

    def q_error(self):
        sql, code = self.rng.choice(ERRORS)
        in_tx = self.rng.random() < 0.5
        try:
            if in_tx:
                with self.conn.transaction():
                    self.conn.execute(sql)
            else:
                self.conn.execute(sql)
        except psycopg.Error as e:
            check(e.sqlstate == code, f"{sql!r}: SQLSTATE {e.sqlstate} ({e}) instead of {code}")
        else:
            raise Unexpected(f"{sql!r} succeeded")
        # The connection must still be usable (and not stuck in a failed transaction).
        check(self.conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE, "not idle after an error")
        k = self.key()
        row = self.conn.execute("SELECT %s::BIGINT + 1", (k,)).fetchone()
        check(row == (k + 1,), f"after error: {row!r}")
        self.expected_errors += 1


def pct(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binary", help="the abacus binary")
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--server-arg", action="append", default=[], help="extra `abacus serve` argument")
    ap.add_argument("--json", help="also write the summary here")
    args = ap.parse_args()

    swallowed = SwallowedErrors()
    logging.getLogger("psycopg").addHandler(swallowed)
    logging.getLogger("psycopg").propagate = False

    tmp = tempfile.TemporaryDirectory(prefix="abacus-wire-load-")
    data = os.path.join(tmp.name, "data")
    proc, port, log = start_server(os.path.abspath(args.binary), data, args.server_arg)
    pid = proc.pid
    failures = []
    try:
        t0 = time.perf_counter()
        with connect(port, autocommit=True) as conn:
            conn.execute(CREATE.format(users=USERS, names=NAMES, epoch=EPOCH, rows=args.rows))
            n = conn.execute("SELECT count(*) FROM t").fetchone()[0]
            if n != args.rows:
                sys.exit(f"table has {n} rows, expected {args.rows}")
        load_s = time.perf_counter() - t0
        before = proc_status(pid)
        print(
            f"abacus serve pid {pid} on 127.0.0.1:{port}: t has {args.rows} rows (created in {load_s:.1f} s), "
            f"RSS {before.get('VmRSS', 0) / 1024:.0f} MiB; {args.clients} clients for {args.seconds:g} s",
            flush=True,
        )

        peak_sampled = [0]
        stop = threading.Event()

        def sample():
            while not stop.wait(0.25):
                peak_sampled[0] = max(peak_sampled[0], proc_status(pid).get("VmRSS", 0))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        start = time.monotonic()
        deadline = start + args.seconds
        clients = [Client(i, port, args.rows, deadline, args.seed * 1000 + i) for i in range(args.clients)]
        for c in clients:
            c.start()
        # Clients finish the query they are in after the deadline; a stuck one is a failure.
        for c in clients:
            c.join(timeout=max(0.0, deadline + 120 - time.monotonic()))
        elapsed = time.monotonic() - start
        end_status = proc_status(pid)
        stop.set()
        stuck = [c.name for c in clients if not c.done]
        if stuck:
            failures.append(f"{len(stuck)} clients still running 120 s after the deadline: {stuck[:5]}")
        time.sleep(1.0)
        idle_status = proc_status(pid)
        if proc.poll() is not None:
            failures.append(f"server exited with {proc.returncode} during the run")
    except BaseException:
        proc.kill()
        log.seek(0)
        sys.stderr.write(log.read()[-5000:])
        raise

    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = "killed after 60 s"
    if rc != 0:
        failures.append(f"server did not exit cleanly on SIGTERM: {rc}")

    lat = {k: [x for c in clients for x in c.lat[k]] for k in WEIGHTS}
    all_lat = [x for v in lat.values() for x in v]
    unexpected = [u for c in clients for u in c.unexpected]
    unexpected += [("psycopg log", msg) for _, msg in swallowed.records]
    expected_errors = sum(c.expected_errors for c in clients)
    completed = len(all_lat)
    if completed == 0:
        failures.append("no query completed")
    summary = {
        "clients": args.clients,
        "seconds": round(elapsed, 2),
        "rows": args.rows,
        "queries": completed,
        "expected_errors": expected_errors,
        "unexpected_errors": len(unexpected),
        "qps": round(completed / elapsed, 1),
        "p50_ms": round(pct(all_lat, 50) * 1e3, 2),
        "p99_ms": round(pct(all_lat, 99) * 1e3, 2),
        "per_kind": {
            k: {
                "n": len(v),
                "p50_ms": round(pct(v, 50) * 1e3, 2),
                "p99_ms": round(pct(v, 99) * 1e3, 2),
            }
            for k, v in lat.items()
        },
        "rss_before_mib": round(before.get("VmRSS", 0) / 1024, 1),
        "peak_rss_mib": round(end_status.get("VmHWM", 0) / 1024, 1),
        "peak_rss_sampled_mib": round(peak_sampled[0] / 1024, 1),
        "rss_end_mib": round(end_status.get("VmRSS", 0) / 1024, 1),
        "rss_idle_mib": round(idle_status.get("VmRSS", 0) / 1024, 1),
        "server_threads": end_status.get("Threads"),
        "failures": failures,
    }

    print(f"queries completed   {completed} in {elapsed:.1f} s ({summary['qps']:.0f} queries/s)")
    print(f"errors              {expected_errors} expected (right SQLSTATE, connection usable after), "
          f"{len(unexpected)} unexpected")
    print(f"latency             p50 {summary['p50_ms']:.2f} ms, p99 {summary['p99_ms']:.2f} ms")
    print(f"{'kind':<10} {'n':>8} {'p50 ms':>9} {'p99 ms':>9}")
    for k, v in summary["per_kind"].items():
        print(f"{k:<10} {v['n']:>8} {v['p50_ms']:>9.2f} {v['p99_ms']:>9.2f}")
    print(
        f"server RSS          before {summary['rss_before_mib']:.0f} MiB, peak (VmHWM) {summary['peak_rss_mib']:.0f} MiB, "
        f"at the end {summary['rss_end_mib']:.0f} MiB, 1 s after clients left {summary['rss_idle_mib']:.0f} MiB"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)
    shown = {}
    for kind, msg in unexpected:
        key = (kind, re.sub(r" at 0x[0-9a-f]+|port=\d+ ", "", msg)[:300])
        shown[key] = shown.get(key, 0) + 1
    for (kind, msg), count in sorted(shown.items(), key=lambda x: -x[1])[:20]:
        print(f"UNEXPECTED {kind} x{count}: {msg}", file=sys.stderr)
    for f in failures:
        print(f"FAILURE: {f}", file=sys.stderr)
    if unexpected or failures:
        log.seek(0)
        tail = log.read()[-3000:]
        if tail:
            print(f"server log (tail):\n{tail}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
    except SystemExit:
        raise
    except BaseException:
        traceback.print_exc()
        sys.exit(2)
