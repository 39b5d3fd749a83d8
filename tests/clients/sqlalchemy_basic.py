"""SQLAlchemy 2 with the psycopg 3 dialect (postgresql+psycopg://) against `abacus serve`:
first-connect probes, inspect() reflection (table, column and schema names) and pandas.read_sql.
Run by tests/it/server_clients.rs as: python3 sqlalchemy_basic.py PORT
after psql created table public.users (3 rows) and schema sa with table sa.events."""
import datetime
import decimal
import sys
import traceback

try:
    import pandas as pd
    import sqlalchemy
    import sqlalchemy.exc
    from sqlalchemy import create_engine, inspect, text
except ImportError as e:
    sys.exit(f"{e}: run ./scripts/test (or python3 -m pip install 'sqlalchemy>=2' pandas 'psycopg[binary]')")

PORT = sys.argv[1]
failures = []


def check(cond, message):
    if not cond:
        raise AssertionError(message)


def section(fn):
    try:
        fn()
    except sqlalchemy.exc.DBAPIError as e:
        # The server's error, then the statement that caused it (shortened).
        orig = e.orig
        state = getattr(orig, "sqlstate", None)
        statement = " ".join((e.statement or "").split())
        if len(statement) > 400:
            statement = statement[:400] + " …"
        where = f"\n    SQL: {statement}" if statement else " (outside a statement of ours: the dialect's own set-up)"
        failures.append(f"{fn.__name__}: {type(orig).__name__} [{state}]: {str(orig).strip()}{where}")
    except Exception as e:  # noqa: BLE001 - reported at the end
        last = traceback.extract_tb(e.__traceback__)[-1]
        failures.append(f"{fn.__name__}: {type(e).__name__}: {e}".rstrip() + f"  (at {last.filename}:{last.lineno})")
    return fn


check(int(sqlalchemy.__version__.split(".")[0]) >= 2, f"SQLAlchemy 2 or later expected, found {sqlalchemy.__version__}")
engine = create_engine(
    f"postgresql+psycopg://abacus@127.0.0.1:{PORT}/abacus",
    connect_args={"sslmode": "disable", "connect_timeout": 20},
)


@section
def first_connect_and_query():
    # The dialect's first connect: version(), current_schema(), isolation level, hstore lookup.
    with engine.connect() as conn:
        check(conn.dialect.server_version_info[0] >= 12, f"server_version_info {conn.dialect.server_version_info}")
        check(conn.dialect.default_schema_name == "public", f"default schema {conn.dialect.default_schema_name!r}")
        rows = conn.execute(text("SELECT id, email FROM users WHERE id >= :low ORDER BY id"), {"low": 2}).all()
        check([tuple(r) for r in rows] == [(2, "b@x.io"), (3, None)], f"bound query: {rows}")
        n = conn.execute(text("SELECT count(*) FROM users")).scalar_one()
        check(n == 3, f"count(*): {n!r}")


@section
def get_table_names():
    insp = inspect(engine)
    names = insp.get_table_names()
    check(names == ["users"], f"get_table_names() for public: {names}")
    names = insp.get_table_names(schema="sa")
    check(names == ["events"], f"get_table_names(schema='sa'): {names}")
    check(insp.has_table("users") and not insp.has_table("nope"), "has_table")


@section
def get_schema_names():
    names = inspect(engine).get_schema_names()
    check("public" in names and "sa" in names, f"get_schema_names(): {names}")
    # SQLAlchemy filters only `pg_%` (PostgreSQL 15 answers information_schema, public, sa here).
    check(not any(n.startswith("pg_") for n in names), f"get_schema_names() hides pg_* schemas: {names}")


@section
def get_columns():
    cols = inspect(engine).get_columns("users")
    got = [(c["name"], str(c["type"]), c["nullable"]) for c in cols]
    expected = [
        ("id", "INTEGER", False),
        ("email", "TEXT", True),
        ("signed_up", "DATE", True),
        ("score", "NUMERIC(6, 2)", True),
    ]
    check(got == expected, f"get_columns('users'):\n got      {got}\n expected {expected}")
    cols = inspect(engine).get_columns("events", schema="sa")
    got = [(c["name"], str(c["type"]), c["nullable"]) for c in cols]
    # Abacus stores VARCHAR as text (a Delta string column), so it reflects as TEXT;
    # SQLAlchemy names `timestamp without time zone` TIMESTAMP, as against PostgreSQL.
    expected = [
        ("id", "BIGINT", False),
        ("name", "TEXT", True),
        ("value", "DOUBLE PRECISION", True),
        ("at", "TIMESTAMP", True),
    ]
    check(got == expected, f"get_columns('events', schema='sa'):\n got      {got}\n expected {expected}")


@section
def pandas_read_sql():
    df = pd.read_sql("SELECT id, email, signed_up, score FROM users ORDER BY id", engine)
    check(list(df.columns) == ["id", "email", "signed_up", "score"], f"columns {list(df.columns)}")
    check(df["id"].tolist() == [1, 2, 3], f"id {df['id'].tolist()}")
    check(df["email"].tolist()[:2] == ["a@x.io", "b@x.io"] and df["email"].isna().tolist()[2], f"email {df['email'].tolist()}")
    check(
        df["signed_up"].tolist()[:2] == [datetime.date(2024, 1, 1), datetime.date(2024, 2, 1)],
        f"signed_up {df['signed_up'].tolist()}",
    )
    check(df["score"].tolist()[:2] == [decimal.Decimal("1.50"), decimal.Decimal("2.25")], f"score {df['score'].tolist()}")
    df = pd.read_sql(
        text("SELECT email, score FROM users WHERE id < :n ORDER BY id"), engine, params={"n": 3}
    )
    check(df.shape == (2, 2), f"read_sql with a bound parameter: {df}")


print(f"SQLAlchemy {sqlalchemy.__version__}, pandas {pd.__version__}", file=sys.stderr)
engine.dispose()
if failures:
    sys.exit("SQLAlchemy (psycopg 3) against abacus serve failed:\n- " + "\n- ".join(failures))
print("ok")
