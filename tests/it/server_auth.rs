//! `abacus serve` security: SCRAM-SHA-256 users kept as verifiers, READ ONLY users (42501),
//! TLS with `sslmode=require`, and a bad certificate stopping the server at start.

use std::process::Command;

use crate::common::abacus;
use crate::server::Server;

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn scram_users_and_read_only_rights() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--user", "boss", "--password", "b0ss pw"]);

    let out = server.psql_as(
        "boss",
        "b0ss pw",
        "abacus",
        "SELECT current_setting('session_authorization') AS who",
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("boss"), "{}", text(&out));

    // A wrong password and an unknown user get the same answer, as from PostgreSQL.
    for (user, password) in [("boss", "guess"), ("nobody", "guess")] {
        let out = server.psql_as(user, password, "abacus", "SELECT 1");
        assert!(!out.status.success());
        assert!(
            text(&out).contains(&format!(
                "password authentication failed for user \"{user}\""
            )),
            "{}",
            text(&out)
        );
    }

    let out = server.psql_as(
        "boss",
        "b0ss pw",
        "abacus",
        "CREATE TABLE t (a INT); INSERT INTO t VALUES (1), (2); \
         CREATE USER reader PASSWORD 'r3ad' READ ONLY; CREATE USER writer WITH PASSWORD 'wr1te'",
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("CREATE ROLE"), "{}", text(&out));

    // READ ONLY: reads work, every change is 42501, and the server keeps serving.
    // (user, password, SQL, whether it succeeds, what the answer must contain).
    let steps = [
        // READ ONLY: reads work (COPY … TO included), every change is 42501.
        ("reader", "r3ad", "SELECT sum(a) AS s FROM t", true, " 3"),
        (
            "reader",
            "r3ad",
            "COPY (SELECT a FROM t ORDER BY a) TO STDOUT",
            true,
            "1\n2",
        ),
        ("reader", "r3ad", "INSERT INTO t VALUES (3)", false, "42501"),
        ("reader", "r3ad", "CREATE TABLE u (a INT)", false, "42501"),
        ("reader", "r3ad", "DELETE FROM t", false, "42501"),
        ("reader", "r3ad", "DROP TABLE t", false, "42501"),
        ("reader", "r3ad", "COPY t FROM STDIN", false, "42501"),
        (
            "reader",
            "r3ad",
            "CREATE USER sneaky PASSWORD 'x'",
            false,
            "42501",
        ),
        (
            "reader",
            "r3ad",
            "ALTER USER reader READ WRITE",
            false,
            "42501",
        ),
        // A plain user may write but not manage users; it may change its own password.
        (
            "writer",
            "wr1te",
            "INSERT INTO t VALUES (3)",
            true,
            "INSERT 0 1",
        ),
        ("writer", "wr1te", "DROP USER reader", false, "42501"),
        (
            "writer",
            "wr1te",
            "ALTER USER writer PASSWORD 'n3w'",
            true,
            "ALTER ROLE",
        ),
        ("writer", "n3w", "SELECT count(*) FROM t", true, " 3"),
        // The admin manages users; errors carry PostgreSQL's codes.
        (
            "boss",
            "b0ss pw",
            "CREATE USER reader PASSWORD 'x'",
            false,
            "42710",
        ),
        ("boss", "b0ss pw", "DROP USER ghost", false, "42704"),
        (
            "boss",
            "b0ss pw",
            "DROP USER reader; DROP USER IF EXISTS ghost",
            true,
            "DROP ROLE",
        ),
        (
            "reader",
            "r3ad",
            "SELECT 1",
            false,
            "password authentication failed",
        ),
    ];
    for (user, password, sql, succeeds, expected) in steps {
        let out = server.psql_as(user, password, "abacus", sql);
        let answer = text(&out);
        assert_eq!(out.status.success(), succeeds, "{user}: {sql}: {answer}");
        assert!(answer.contains(expected), "{user}: {sql}: {answer}");
    }

    // Only salted verifiers are stored, never the passwords.
    let catalog = std::fs::read_to_string(dir.path().join("_catalog.json")).unwrap();
    assert!(catalog.contains("SCRAM-SHA-256$4096:"), "{catalog}");
    for password in ["b0ss pw", "wr1te", "n3w"] {
        assert!(!catalog.contains(password));
    }
    server.stop();
}

#[test]
fn tls_with_sslmode_require_and_bad_certificates_stop_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("server.crt");
    let key = dir.path().join("server.key");
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl is installed");
    assert!(status.status.success(), "{}", text(&status));
    let data = dir.path().join("data");
    let server = Server::start_with(
        &data,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let out = Command::new("psql")
        .arg(format!(
            "host=127.0.0.1 port={} dbname=abacus user=abacus sslmode=require",
            server.port
        ))
        .args(["-X", "-c", "SELECT 41 + 1 AS answer", "-c", "\\conninfo"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("42") && text(&out).contains("SSL connection"),
        "{}",
        text(&out)
    );
    server.stop();

    // A key that is not a key: the server refuses to start and says why.
    std::fs::write(&key, "not a key").unwrap();
    let out = abacus(&data)
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out).contains("private key"), "{}", text(&out));
    assert!(!text(&out).contains("listening on"), "{}", text(&out));
}
