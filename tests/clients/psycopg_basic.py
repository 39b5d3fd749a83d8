"""Extended query protocol through psycopg 3: typed parameters, binary results, SQLSTATEs.
Run by tests/it/server.rs as: python3 psycopg_basic.py PORT"""
import sys

import psycopg

port = sys.argv[1]
with psycopg.connect(f"host=127.0.0.1 port={port} dbname=abacus user=abacus", autocommit=True) as conn:
    assert conn.info.parameter_status("server_version").startswith("16."), conn.info.parameter_status("server_version")
    cur = conn.cursor()
    cur.execute("CREATE TABLE t (id BIGINT, name VARCHAR, amount DECIMAL(10,2))")
    cur.execute("INSERT INTO t VALUES (1, 'a', 1.50), (2, 'b', 2.25), (3, NULL, 3.00)")
    assert cur.rowcount == 3, cur.rowcount
    cur.execute("SELECT id, name FROM t WHERE id >= %s AND name = %s ORDER BY id", (2, "b"))
    assert cur.fetchall() == [(2, "b")]
    cur.execute("SELECT %s::int + 1 AS r", (41,))
    assert cur.fetchone() == (42,) and cur.description[0].name == "r"
    cur.execute("SELECT id, amount FROM t ORDER BY id", binary=True)
    rows = cur.fetchall()
    assert [r[0] for r in rows] == [1, 2, 3] and str(rows[1][1]) == "2.25", rows
    cur.execute("SELECT name FROM t WHERE id = 3")
    assert cur.fetchone() == (None,)
    try:
        cur.execute("SELECT nope FROM t")
        raise AssertionError("expected an error")
    except psycopg.errors.UndefinedColumn as e:
        assert e.sqlstate == "42703"
    try:
        cur.execute("SELECT * FROM missing_table")
        raise AssertionError("expected an error")
    except psycopg.Error as e:
        assert e.sqlstate == "42P01", e.sqlstate
    # The connection survives errors.
    cur.execute("SELECT count(*) FROM t")
    assert cur.fetchone() == (3,)
    # SET of a reported setting sends ParameterStatus, as PostgreSQL does.
    cur.execute("SET application_name = 'report-builder'")
    assert conn.info.parameter_status("application_name") == "report-builder"
    # Integer overflow is an error (22003), not a wrapped value.
    try:
        cur.execute("SELECT %s::int * 100000 AS big", (100000,))
        raise AssertionError("expected 22003")
    except psycopg.errors.NumericValueOutOfRange as e:
        assert e.sqlstate == "22003", e.sqlstate
    cur.execute("SELECT 1 + 1 AS two, extract(year FROM DATE '2024-05-01') AS y")
    assert cur.fetchone() == (2, 2024) and cur.description[0].type_code == 23, cur.description
# psycopg opens transactions itself; a failure aborts it until rollback (25P02).
with psycopg.connect(f"host=127.0.0.1 port={port} dbname=abacus user=abacus") as conn:
    cur = conn.cursor()
    cur.execute("SELECT current_setting('server_version_num')")
    assert cur.fetchone() == ("160006",)
    conn.commit()
    try:
        cur.execute("SELECT nope FROM t")
    except psycopg.errors.UndefinedColumn:
        pass
    try:
        cur.execute("SELECT 1")
        raise AssertionError("expected 25P02")
    except psycopg.errors.InFailedSqlTransaction as e:
        assert e.sqlstate == "25P02"
    conn.rollback()
    cur.execute("SELECT version()")
    assert cur.fetchone()[0].startswith("PostgreSQL 16.")
# A server-side (named) cursor: DECLARE, then FETCH FORWARD n as the client pages.
with psycopg.connect(f"host=127.0.0.1 port={port} dbname=abacus user=abacus") as conn:
    with conn.cursor(name="pages") as cur:
        cur.itersize = 1000
        cur.execute("SELECT value FROM generate_series(1, 2500) ORDER BY value")
        assert cur.fetchmany(3) == [(1,), (2,), (3,)]
        rest = [r[0] for r in cur]
        assert rest == list(range(4, 2501)), (rest[:5], len(rest))
    conn.commit()
    try:
        conn.execute("FETCH 1 FROM pages")
        raise AssertionError("expected 34000")
    except psycopg.errors.InvalidCursorName as e:
        assert e.sqlstate == "34000"
# A cancel request (what Ctrl-C in psql sends) ends the running query with 57014.
import threading, time
with psycopg.connect(f"host=127.0.0.1 port={port} dbname=abacus user=abacus", autocommit=True) as conn:
    timer = threading.Timer(1.0, conn.cancel)
    timer.start()
    started = time.monotonic()
    try:
        conn.execute("SELECT count(*) FROM generate_series(1, 100000000000)")
        raise AssertionError("expected the query to be canceled")
    except psycopg.errors.QueryCanceled as e:
        assert e.sqlstate == "57014"
    assert time.monotonic() - started < 30
    assert conn.execute("SELECT 7").fetchone() == (7,)
print("ok")
