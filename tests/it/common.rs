//! Helpers: the built `abacus` binary on a fresh data directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_abacus"))
}

/// `abacus --data DIR` with logging quiet and a predictable home directory.
pub fn abacus(data: &Path) -> Command {
    let mut cmd = Command::new(binary());
    cmd.arg("--data").arg(data).env_remove("ABACUS_DATA");
    cmd
}

/// Runs `sql` with `-c`; panics with stderr unless it succeeds. Returns stdout.
pub fn sql_ok(data: &Path, sql: &str, format: &str) -> String {
    let out = abacus(data)
        .args(["--format", format, "-c", sql])
        .output()
        .expect("abacus runs");
    assert!(
        out.status.success(),
        "`{sql}` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

pub fn sql(data: &Path, sql: &str) -> Output {
    abacus(data)
        .args(["--format", "json", "-c", sql])
        .output()
        .expect("abacus runs")
}

/// Runs a query with `--format json` and parses the array it prints.
pub fn json_rows(data: &Path, query: &str) -> Vec<serde_json::Value> {
    let stdout = sql_ok(data, query, "json");
    let value: serde_json::Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"));
    value.as_array().expect("a JSON array").clone()
}

pub fn count(data: &Path, table: &str) -> i64 {
    let rows = json_rows(data, &format!("SELECT count(*) AS n FROM {table}"));
    rows[0]["n"].as_i64().expect("a count")
}

/// Runs `cmd`, panicking with its stderr unless it succeeds.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("abacus runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
