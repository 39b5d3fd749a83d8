"""asyncpg against `abacus serve`: named statements with no parameter OIDs (the server's
ParameterDescription decides every parameter's type), binary parameters and binary results,
fetch/fetchval/fetchrow, conn.transaction(), and SQLSTATE-typed errors.
Run by tests/it/server_clients.rs as: python3 asyncpg_basic.py PORT"""
import asyncio
import datetime
import decimal
import sys

try:
    import asyncpg
except ImportError:
    sys.exit("asyncpg is not installed: run ./scripts/test (or python3 -m pip install asyncpg)")

PORT = int(sys.argv[1])
UTC = datetime.timezone.utc


def check(cond, message):
    if not cond:
        raise AssertionError(message)


async def main():
    conn = await asyncpg.connect(
        host="127.0.0.1", port=PORT, user="abacus", database="abacus", ssl=False, timeout=20
    )
    failures = []
    try:
        await setup(conn)
        # Each section runs even when an earlier one failed, so one run reports every problem.
        for section in SECTIONS:
            try:
                await section(conn)
            except Exception as e:  # noqa: BLE001 - reported below
                failures.append(f"{section.__name__}: {type(e).__name__}: {e}")
                if conn.is_closed():
                    break
                if conn.is_in_transaction():
                    await conn.execute("ROLLBACK")
    finally:
        await conn.close()
    return failures


async def setup(conn):
    check(conn.get_server_version().major >= 12, f"server version {conn.get_server_version()}")

    # Simple-protocol script (no arguments -> asyncpg sends one Query message).
    await conn.execute(
        """
        DROP TABLE IF EXISTS ap_orders;
        CREATE TABLE ap_orders (id INT NOT NULL, customer VARCHAR, ordered_on DATE,
                                amount DECIMAL(10,2), paid BOOLEAN);
        INSERT INTO ap_orders VALUES
          (1, 'anna', DATE '2024-01-05', 10.50, true),
          (2, 'boris', DATE '2024-02-10', 99.99, false),
          (3, 'anna', DATE '2024-03-15', 250.00, true),
          (4, NULL, DATE '2024-04-20', 5.25, NULL);
        """
    )


async def prepared_statement_with_inferred_parameter_types(conn):
    # Prepared statement with $1 int, $2 text, $3 date, $4 numeric: the server infers the types.
    stmt = await conn.prepare(
        "SELECT id, customer, ordered_on, amount FROM ap_orders "
        "WHERE id >= $1 AND customer = $2 AND ordered_on >= $3 AND amount > $4 ORDER BY id"
    )
    param_types = [t.name for t in stmt.get_parameters()]
    check(
        param_types == ["int4", "text", "date", "numeric"]
        or param_types == ["int4", "varchar", "date", "numeric"],
        f"ParameterDescription for ($1 int, $2 text, $3 date, $4 numeric): {param_types}",
    )
    result_types = [(a.name, a.type.name) for a in stmt.get_attributes()]
    check(
        result_types[0] == ("id", "int4")
        and result_types[2] == ("ordered_on", "date")
        and result_types[3] == ("amount", "numeric")
        and result_types[1][1] in ("text", "varchar"),
        f"RowDescription: {result_types}",
    )
    rows = await stmt.fetch(1, "anna", datetime.date(2024, 1, 1), decimal.Decimal("5"))
    check(
        [tuple(r) for r in rows]
        == [
            (1, "anna", datetime.date(2024, 1, 5), decimal.Decimal("10.50")),
            (3, "anna", datetime.date(2024, 3, 15), decimal.Decimal("250.00")),
        ],
        f"fetch with parameters: {rows}",
    )
    # The same named statement again with other values.
    rows = await stmt.fetch(2, "anna", datetime.date(2024, 1, 1), decimal.Decimal("100"))
    check([r["id"] for r in rows] == [3], f"re-executed prepared statement: {rows}")


async def fetch_fetchval_fetchrow(conn):
    # fetchval / fetchrow / fetch directly with arguments.
    n = await conn.fetchval("SELECT count(*) FROM ap_orders WHERE customer = $1", "anna")
    check(n == 2, f"fetchval count(*): {n!r}")
    row = await conn.fetchrow("SELECT id, customer, paid FROM ap_orders WHERE id = $1", 2)
    check(row is not None and tuple(row) == (2, "boris", False), f"fetchrow: {row!r}")
    check(row["customer"] == "boris", f"record by name: {row!r}")
    row = await conn.fetchrow("SELECT customer, paid FROM ap_orders WHERE id = $1", 4)
    check(tuple(row) == (None, None), f"NULLs: {row!r}")
    none = await conn.fetchrow("SELECT id FROM ap_orders WHERE id = $1", 99)
    check(none is None, f"fetchrow with no row: {none!r}")
    rows = await conn.fetch("SELECT id FROM ap_orders WHERE paid = $1 ORDER BY id", True)
    check([r[0] for r in rows] == [1, 3], f"bool parameter: {rows}")


async def cast_parameter(conn):
    v = await conn.fetchval("SELECT $1::int + 1", 41)
    check(v == 42, f"$1::int + 1: {v!r}")


async def binary_results(conn):
    # Binary results for each common type (asyncpg always asks for binary results).
    row = await conn.fetchrow(
        """SELECT CAST(7 AS SMALLINT) AS i2, CAST(70000 AS INT) AS i4,
                  CAST(9000000000 AS BIGINT) AS i8, CAST(1.5 AS DOUBLE PRECISION) AS f8,
                  CAST('12345.678' AS NUMERIC(12,3)) AS num, 'héllo' AS txt, true AS b,
                  DATE '2024-02-29' AS d, TIMESTAMP '2024-02-29 13:14:15.123456' AS ts,
                  CAST('2024-02-29 13:14:15+00' AS TIMESTAMPTZ) AS tstz"""
    )
    types = {a: row[a] for a in row.keys()}
    expected = {
        "i2": 7,
        "i4": 70000,
        "i8": 9000000000,
        "f8": 1.5,
        "num": decimal.Decimal("12345.678"),
        "txt": "héllo",
        "b": True,
        "d": datetime.date(2024, 2, 29),
        "ts": datetime.datetime(2024, 2, 29, 13, 14, 15, 123456),
        "tstz": datetime.datetime(2024, 2, 29, 13, 14, 15, tzinfo=UTC),
    }
    check(types == expected, f"binary results:\n got      {types}\n expected {expected}")
    stmt = await conn.prepare(
        """SELECT CAST(7 AS SMALLINT) AS i2, CAST(70000 AS INT) AS i4,
                  CAST(9000000000 AS BIGINT) AS i8, CAST(1.5 AS DOUBLE PRECISION) AS f8,
                  CAST('12345.678' AS NUMERIC(12,3)) AS num, 'x' AS txt, true AS b,
                  DATE '2024-02-29' AS d, TIMESTAMP '2024-02-29 13:14:15' AS ts,
                  CAST('2024-02-29 13:14:15+00' AS TIMESTAMPTZ) AS tstz"""
    )
    oids = [a.type.name for a in stmt.get_attributes()]
    check(
        oids
        == ["int2", "int4", "int8", "float8", "numeric", "text", "bool", "date", "timestamp", "timestamptz"],
        f"result type OIDs: {oids}",
    )


async def binary_parameters(conn):
    # Binary parameters of those types round-trip.
    row = await conn.fetchrow(
        "SELECT $1::smallint AS a, $2::bigint AS b, $3::double precision AS c, $4::timestamp AS d, "
        "$5::timestamptz AS e",
        3,
        2**40,
        2.25,
        datetime.datetime(2023, 12, 31, 23, 59, 59),
        datetime.datetime(2023, 12, 31, 23, 59, 59, tzinfo=UTC),
    )
    check(
        tuple(row)
        == (
            3,
            2**40,
            2.25,
            datetime.datetime(2023, 12, 31, 23, 59, 59),
            datetime.datetime(2023, 12, 31, 23, 59, 59, tzinfo=UTC),
        ),
        f"binary parameters round-trip: {row!r}",
    )


async def transactions(conn):
    # conn.transaction(): BEGIN; ... COMMIT; and ROLLBACK on an exception.
    async with conn.transaction():
        await conn.execute("INSERT INTO ap_orders VALUES (5, 'carl', DATE '2024-05-01', 1.00, true)")
        v = await conn.fetchval("SELECT 1")
        check(v == 1, f"query inside a transaction: {v!r}")
    n = await conn.fetchval("SELECT count(*) FROM ap_orders")
    check(n == 5, f"rows after the committed transaction: {n!r}")
    check(not conn.is_in_transaction(), "the connection left the transaction")
    try:
        async with conn.transaction():
            await conn.fetchval("SELECT 1")
            raise RuntimeError("rollback please")
    except RuntimeError:
        pass
    check(not conn.is_in_transaction(), "the connection left the rolled-back transaction")


async def errors_carry_sqlstates(conn):
    # Errors carry the SQLSTATE; asyncpg maps it to an exception class.
    try:
        await conn.fetch("SELECT * FROM no_such_table")
        raise AssertionError("expected UndefinedTableError")
    except asyncpg.exceptions.UndefinedTableError as e:
        check(e.sqlstate == "42P01", f"sqlstate {e.sqlstate}")
    except asyncpg.PostgresError as e:
        raise AssertionError(f"expected 42P01 UndefinedTableError, got {type(e).__name__} {e.sqlstate}: {e}")
    try:
        await conn.fetchval("SELECT no_such_column FROM ap_orders WHERE id = $1", 1)
        raise AssertionError("expected UndefinedColumnError")
    except asyncpg.exceptions.UndefinedColumnError as e:
        check(e.sqlstate == "42703", f"sqlstate {e.sqlstate}")
    except asyncpg.PostgresError as e:
        raise AssertionError(f"expected 42703 UndefinedColumnError, got {type(e).__name__} {e.sqlstate}: {e}")
    try:
        await conn.fetchval("SELECT 1 / $1", 0)
        raise AssertionError("expected DivisionByZeroError")
    except asyncpg.exceptions.DivisionByZeroError as e:
        check(e.sqlstate == "22012", f"sqlstate {e.sqlstate}")
    except asyncpg.PostgresError as e:
        raise AssertionError(f"expected 22012 DivisionByZeroError, got {type(e).__name__} {e.sqlstate}: {e}")

    # A failure inside conn.transaction() aborts it; the block rolls back and the connection
    # stays usable.
    try:
        async with conn.transaction():
            await conn.fetch("SELECT * FROM no_such_table")
    except asyncpg.exceptions.UndefinedTableError:
        pass
    check(not conn.is_in_transaction(), "rolled back after the error")
    v = await conn.fetchval("SELECT count(*) FROM ap_orders WHERE id > $1", 0)
    check(v == 5, f"the connection is usable after errors: {v!r}")


async def portals_with_and_without_row_limits(conn):
    # A cursor fetches through one portal with Execute row limits (PortalSuspended between
    # pages); a plain fetch streams every row from one unlimited Execute.
    query = "SELECT value AS n FROM generate_series(1, 5000) ORDER BY value"
    async with conn.transaction():
        cur = await conn.cursor(query)
        first = await cur.fetch(3)
        check([r["n"] for r in first] == [1, 2, 3], f"first page: {first!r}")
        rest = await cur.fetch(10000)
        check(len(rest) == 4997 and rest[-1]["n"] == 5000, f"second page: {len(rest)} rows")
        check(await cur.fetch(10) == [], "the exhausted cursor returns nothing")
    rows = await conn.fetch(query)
    check(len(rows) == 5000 and sum(r["n"] for r in rows) == 5000 * 5001 // 2,
          f"unlimited fetch: {len(rows)} rows")
    # An error in the middle of a streamed result reaches the client as an error.
    try:
        await conn.fetch("SELECT 10 / (n - 4000) FROM (SELECT value AS n FROM generate_series(1, 5000))")
        raise AssertionError("expected DivisionByZeroError mid-stream")
    except asyncpg.exceptions.DivisionByZeroError:
        pass
    check(await conn.fetchval("SELECT count(*) FROM generate_series(1, 10)") == 10,
          "the connection is usable after the mid-stream error")


SECTIONS = [
    portals_with_and_without_row_limits,
    prepared_statement_with_inferred_parameter_types,
    fetch_fetchval_fetchrow,
    cast_parameter,
    binary_results,
    binary_parameters,
    transactions,
    errors_carry_sqlstates,
]

failures = asyncio.run(asyncio.wait_for(main(), 120))
if failures:
    sys.exit("asyncpg against abacus serve failed:\n- " + "\n- ".join(failures))
print("ok")
