//! `abacus serve` with real clients on 127.0.0.1: psql (simple protocol) and psycopg 3
//! (extended protocol), error codes, the database-name check and shutdown on SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::common::abacus;

pub(crate) struct Server {
    child: Child,
    pub(crate) port: u16,
}

impl Server {
    pub(crate) fn start(data: &Path) -> Server {
        Server::start_with(data, &[])
    }

    pub(crate) fn start_with(data: &Path, options: &[&str]) -> Server {
        let mut child = abacus(data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(options)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("listening on 127.0.0.1:")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .unwrap();
        Server { child, port }
    }

    pub(crate) fn psql(&self, database: &str, sql: &str) -> std::process::Output {
        self.psql_as("abacus", "", database, sql)
    }

    /// psql as `user` with `password` (sent only if the server asks for one).
    pub(crate) fn psql_as(
        &self,
        user: &str,
        password: &str,
        database: &str,
        sql: &str,
    ) -> std::process::Output {
        Command::new("psql")
            .env("PGPASSWORD", password)
            .env("PGSSLMODE", "disable")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                user,
                "-X",
                "-v",
                "ON_ERROR_STOP=1",
                "-v",
                "VERBOSITY=verbose",
            ])
            .args(["-d", database, "-c", sql])
            .env("PGCONNECT_TIMEOUT", "10")
            .output()
            .expect("psql is installed (the README's test command installs postgresql-client)")
    }

    pub(crate) fn stop(mut self) -> std::process::ExitStatus {
        unsafe_kill(self.child.id(), 15);
        self.child.wait().unwrap()
    }
}

fn unsafe_kill(pid: u32, signal: i32) {
    Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
}

#[test]
fn psql_and_psycopg_talk_to_abacus_serve() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());

    let out = server.psql("abacus", "CREATE TABLE p (a INT, b TEXT); INSERT INTO p VALUES (1, 'x'), (2, NULL); SELECT * FROM p ORDER BY a");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("INSERT 0 2") && stdout.contains(" 1 | x") && stdout.contains("(2 rows)"),
        "{stdout}"
    );

    // SQLSTATEs reach the client, and the server keeps serving.
    let out = server.psql("abacus", "SELECT 1/0");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("22012"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = server.psql("abacus", "SELECT * FROM nowhere");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("42P01"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Only the configured database exists.
    let out = server.psql("other", "SELECT 1");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("database \"other\" does not exist"),
        "{stderr}"
    );

    // The extended protocol through psycopg 3.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/psycopg_basic.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(server.port.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "psycopg client failed (the README's test command installs psycopg): {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // What clients wrote is in the data directory for the next process.
    let status = server.stop();
    assert!(
        status.success(),
        "serve exits cleanly on SIGTERM: {status:?}"
    );
    assert_eq!(crate::common::count(dir.path(), "t"), 3);
}

#[test]
fn serve_refuses_non_loopback_addresses_without_users() {
    let dir = tempfile::tempdir().unwrap();
    let out = abacus(dir.path())
        .args(["serve", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("only loopback"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// statement_timeout ends one query with 57014, the memory limit another with 53200, a
/// client over --max-connections gets FATAL 53300, and the server keeps serving throughout.
#[test]
fn limits_end_one_query_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        dir.path(),
        &[
            "--max-connections",
            "2",
            "--memory-limit",
            "20MB",
            "--statement-timeout",
            "1min",
        ],
    );
    let out = server.psql(
        "abacus",
        "SHOW statement_timeout; SET statement_timeout = '300ms'; \
         SELECT count(*) FROM generate_series(1, 5000000000)",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("57014") && stderr.contains("statement timeout"),
        "{stderr}"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("60000"),
        "the server default applies"
    );

    let out = server.psql(
        "abacus",
        "SELECT array_agg(value) FROM generate_series(1, 20000000)",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("53200"), "{stderr}");

    let out = server.psql("abacus", "SET statement_timeout = 'soon'");
    assert!(String::from_utf8_lossy(&out.stderr).contains("statement_timeout"));

    // Two idle clients fill the server; the third is refused as PostgreSQL refuses it.
    let idle: Vec<std::process::Child> = (0..2)
        .map(|_| {
            Command::new("psql")
                .args([
                    "-X",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &server.port.to_string(),
                    "-d",
                    "abacus",
                ])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let out = server.psql("abacus", "SELECT 1");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("too many clients"), "{stderr}");
    for mut c in idle {
        drop(c.stdin.take());
        c.wait().unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let out = server.psql("abacus", "SELECT 42 AS answer");
    assert!(String::from_utf8_lossy(&out.stdout).contains("42"));
    server.stop();
}

/// An error while a query's rows stream (division by zero) aborts the transaction block
/// like any failed statement: 25P02 until ROLLBACK, then the session works again.
#[test]
fn a_failed_statement_aborts_the_transaction_block() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let script = dir.path().join("block.sql");
    std::fs::write(
        &script,
        "BEGIN;\nSELECT 1/0;\nSELECT 1;\nROLLBACK;\nSELECT 40 + 2 AS answer;\n",
    )
    .unwrap();
    let out = Command::new("psql")
        .args(["-X", "-h", "127.0.0.1", "-p", &server.port.to_string()])
        .args([
            "-U",
            "abacus",
            "-d",
            "abacus",
            "-v",
            "VERBOSITY=verbose",
            "-f",
        ])
        .arg(&script)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stderr.contains("22012") && stderr.contains("25P02"),
        "{stderr}"
    );
    assert!(
        stdout.contains("ROLLBACK") && stdout.contains("42"),
        "{stdout}"
    );
    server.stop();
}
