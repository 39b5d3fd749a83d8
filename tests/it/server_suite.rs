//! The PostgreSQL client compatibility suite (`shared/pgwire/suite.json` and
//! `metabase_grafana.sql`) replayed against `abacus serve` by `tests/clients/suite_replay.py`
//! and compared with PostgreSQL 15's goldens: column names, type OIDs, ParameterDescription,
//! row counts and protocol behaviour (tags, EmptyQueryResponse, PortalSuspended, 25P02 …).
//! The replay prints one PASS / SOFT / FAIL line per item; any hard FAIL fails this test.

use std::path::Path;
use std::process::Command;

use crate::server::Server;

#[test]
fn pg_client_suite_replays_like_postgres_15() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/suite_replay.py");
    let report = dir.path().join("suite_report.json");
    let out = Command::new("python3")
        .arg(&script)
        .arg(server.port.to_string())
        .arg("--json")
        .arg(&report)
        .output()
        .expect("python3 runs (the README's test command installs psycopg)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    server.stop();
    assert!(
        out.status.success(),
        "the client compatibility suite has hard FAILs (exit {:?}):\n{stdout}{stderr}",
        out.status.code()
    );
}
