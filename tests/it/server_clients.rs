//! Real PostgreSQL drivers against `abacus serve` on 127.0.0.1: asyncpg, node-pg, pgjdbc and
//! SQLAlchemy 2 (psycopg 3 dialect) with pandas. Each client is a script under tests/clients/
//! that takes the port, prints `ok` and exits 0, or fails with the assertions that broke.
//! `./scripts/test` installs every client; a missing one fails its test with the install hint.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::server::Server;

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Panics with the install hint unless `program args…` runs and exits 0.
fn require(program: &str, args: &[&str], hint: &str) {
    let ok = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "`{program} {}` failed: {hint} (./scripts/test installs it)",
        args.join(" ")
    );
}

/// Runs a client with a deadline so a hung protocol exchange fails the test instead of
/// blocking the run.
fn run_client(cmd: &mut Command, timeout: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{cmd:?} did not finish within {timeout:?} (a hung protocol exchange?)\n\
                 --- stdout ---\n{}\n--- stderr ---\n{}",
                text(&out.stdout),
                text(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// Asserts the client exited 0 and printed `ok`, showing its output otherwise.
fn assert_client_ok(name: &str, out: &Output) {
    let stdout = text(&out.stdout);
    assert!(
        out.status.success() && stdout.lines().any(|l| l.trim() == "ok"),
        "{name} against abacus serve failed ({})\n--- stdout ---\n{stdout}\n--- stderr ---\n{}",
        out.status,
        text(&out.stderr)
    );
}

fn psql_ok(server: &Server, sql: &str) {
    let out = server.psql("abacus", sql);
    assert!(
        out.status.success(),
        "psql `{sql}` failed: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn asyncpg_prepared_statements_binary_results_transactions() {
    require(
        "python3",
        &["-c", "import asyncpg"],
        "asyncpg is missing: python3 -m pip install asyncpg",
    );
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    // The script creates its own table through asyncpg (simple protocol).
    let out = run_client(
        Command::new("python3")
            .arg(clients_dir().join("asyncpg_basic.py"))
            .arg(server.port.to_string()),
        Duration::from_secs(180),
    );
    assert_client_ok("asyncpg", &out);
    server.stop();
}

#[test]
fn node_pg_simple_and_parameterized_queries() {
    require(
        "node",
        &["--version"],
        "node is missing: apt-get install nodejs npm",
    );
    let node_dir = clients_dir().join("node");
    assert!(
        node_dir.join("node_modules/pg/package.json").exists(),
        "node-pg is missing: (cd tests/clients/node && npm ci)"
    );
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    psql_ok(
        &server,
        "CREATE TABLE np_orders (id INT NOT NULL, customer VARCHAR, ordered_on DATE, amount DECIMAL(10,2)); \
         INSERT INTO np_orders VALUES (1, 'anna', DATE '2024-01-05', 10.50), \
         (2, 'boris', DATE '2024-02-10', 99.99), (3, NULL, DATE '2024-03-15', NULL)",
    );
    let out = run_client(
        Command::new("node")
            .arg(node_dir.join("pg_basic.js"))
            .arg(server.port.to_string())
            .current_dir(&node_dir),
        Duration::from_secs(120),
    );
    assert_client_ok("node-pg", &out);
    server.stop();
}

#[test]
fn pgjdbc_metadata_prepared_statements_and_fetch_size() {
    require(
        "java",
        &["-version"],
        "java is missing: apt-get install default-jre-headless",
    );
    let jar = Path::new("/usr/share/java/postgresql.jar");
    assert!(
        jar.exists(),
        "pgjdbc is missing: apt-get install libpostgresql-jdbc-java"
    );
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    psql_ok(
        &server,
        "CREATE SCHEMA jd; \
         CREATE TABLE jd.orders (id INT NOT NULL, customer VARCHAR, amount DECIMAL(10,2), ordered_on DATE, paid BOOLEAN, at TIMESTAMP); \
         INSERT INTO jd.orders VALUES \
           (1, 'anna', 10.50, DATE '2024-01-05', true, TIMESTAMP '2024-01-05 10:00:00'), \
           (2, 'boris', 99.99, DATE '2024-02-10', false, TIMESTAMP '2024-02-10 11:30:00'), \
           (3, 'anna', 250.00, DATE '2024-03-15', true, TIMESTAMP '2024-03-15 12:00:00'), \
           (4, 'carl', 5.25, DATE '2024-04-20', NULL, NULL), \
           (5, NULL, 1.00, DATE '2024-05-01', true, NULL)",
    );
    let out = run_client(
        Command::new("java")
            .arg("-cp")
            .arg(jar)
            .arg(clients_dir().join("JdbcBasic.java"))
            .arg(server.port.to_string()),
        Duration::from_secs(240),
    );
    assert_client_ok("pgjdbc", &out);
    server.stop();
}

#[test]
fn sqlalchemy_psycopg_inspection_and_pandas() {
    require(
        "python3",
        &["-c", "import sqlalchemy, pandas, psycopg"],
        "SQLAlchemy 2, pandas or psycopg is missing: python3 -m pip install 'sqlalchemy>=2' pandas 'psycopg[binary]'",
    );
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    psql_ok(
        &server,
        "CREATE SCHEMA sa; \
         CREATE TABLE sa.events (id BIGINT NOT NULL, name VARCHAR, value DOUBLE, at TIMESTAMP); \
         CREATE TABLE users (id INT NOT NULL, email TEXT, signed_up DATE, score DECIMAL(6,2)); \
         INSERT INTO users VALUES (1, 'a@x.io', DATE '2024-01-01', 1.50), (2, 'b@x.io', DATE '2024-02-01', 2.25), (3, NULL, NULL, NULL)",
    );
    let out = run_client(
        Command::new("python3")
            .arg(clients_dir().join("sqlalchemy_basic.py"))
            .arg(server.port.to_string()),
        Duration::from_secs(180),
    );
    assert_client_ok("SQLAlchemy (psycopg 3)", &out);
    server.stop();
}
