//! `abacus serve` under load: 64 psycopg clients for ~10 s on a small table through
//! benches/wire_load.py (point lookups, GROUP BY, text and binary scans, prepared statements,
//! transactions, queries that fail with a given SQLSTATE). Every answer is checked; the run
//! must end with zero unexpected errors and the server exiting cleanly. Speed is measured in
//! BENCHMARKS.md, never asserted here.

use std::path::Path;
use std::process::Command;

use crate::common::binary;

#[test]
fn sixty_four_clients_get_right_answers_and_no_unexpected_errors() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/wire_load.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(binary())
        .args(["--clients", "64", "--seconds", "10", "--rows", "100000"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "wire_load.py failed (the README's test command installs psycopg):\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains(", 0 unexpected"), "{stdout}\n{stderr}");
}
