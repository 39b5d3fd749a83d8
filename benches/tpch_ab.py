#!/usr/bin/env python3
"""A/B of two Abacus builds on TPC-H: is a change worth keeping?

Starts `abacus serve` on 127.0.0.1 for each binary (twice each, A B A B, so a drift of the
machine shows as a difference between the two copies of one binary), runs every query once
to warm up and then `--runs` times with the servers interleaved, and prints the medians and
each server's ratio to the first. Row counts must agree. Tables are the ones `benches/tpch.py`
loaded (its `sf<N>/abacus-db`).

    python3 benches/tpch_ab.py --db ~/.cache/abacus/tpch/sf1/abacus-db OLD_BIN NEW_BIN

A setting is compared the same way: one binary twice, `--setup-b` run on B's connections
(`--setup-b "SET datafusion.optimizer.hash_join_single_partition_threshold_rows = 4000000"`).

A table layout is compared with `--db-b`: B's servers read another data directory, loaded by
the binary that writes the new layout (`abacus --data DIR -c "COPY t FROM 'x.parquet'"`).

Other statements over the same tables are compared with `--sql`, once for each (named s1,
s2, … in the table), in place of TPC-H's queries:

    python3 benches/tpch_ab.py --db DIR --sql "SELECT l_shipmode, count(*) FROM lineitem
        GROUP BY l_shipmode" OLD_BIN NEW_BIN
"""
import argparse
import os
import statistics

from tpch import HERE, QUERIES, AbacusServe


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a", help="the binary before the change")
    ap.add_argument("b", help="the binary after it")
    ap.add_argument("--db", required=True, help="an Abacus data directory holding the TPC-H tables")
    ap.add_argument("--db-b", help="B's data directory, when it differs from A's (a new layout)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--queries", help="subset, e.g. 1,17,18")
    ap.add_argument("--setup-b", help="SQL run once on each B server's connection (SET …; SET …)")
    ap.add_argument("--sql", action="append", help="a statement to compare instead of TPC-H's")
    args = ap.parse_args()
    names = [f"q{q.strip().lstrip('q')}" for q in args.queries.split(",")] if args.queries \
        else QUERIES
    if args.sql:
        statements = {f"s{i}": sql for i, sql in enumerate(args.sql, 1)}
    else:
        statements = {name: open(os.path.join(HERE, "tpch", "queries", f"{name}.sql")).read()
                      for name in names}
    labels = ["A", "B", "A'", "B'"]
    dbs = (args.db, args.db_b or args.db)
    servers = [AbacusServe(b, dbs[i % 2], args.threads)
               for i, b in enumerate((args.a, args.b, args.a, args.b))]
    try:
        for server in servers[1::2]:
            for statement in filter(str.strip, (args.setup_b or "").split(";")):
                server.conn.execute(statement)
        totals = [0.0] * 4
        print("| query | " + " | ".join(f"{l} s" for l in labels) + " | B/A | A'/A | B'/A |")
        print("|---" * 8 + "|")
        for name, sql in statements.items():
            counts = {server.run(name, sql)["rows"] for server in servers}
            if len(counts) != 1:
                raise SystemExit(f"{name}: the servers returned different row counts {counts}")
            times = [[] for _ in servers]
            for _ in range(args.runs):
                for i, server in enumerate(servers):
                    times[i].append(server.run(name, sql)["seconds"])
            med = [statistics.median(t) for t in times]
            totals = [t + m for t, m in zip(totals, med)]
            print(f"| {name} | " + " | ".join(f"{m:.3f}" for m in med) + " | "
                  + " | ".join(f"{m / med[0]:.2f}" for m in med[1:]) + " |", flush=True)
        print("| **total** | " + " | ".join(f"**{t:.2f}**" for t in totals) + " | "
              + " | ".join(f"**{t / totals[0]:.2f}**" for t in totals[1:]) + " |")
    finally:
        for server in servers:
            server.close()


if __name__ == "__main__":
    main()
