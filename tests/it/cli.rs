//! The `abacus` command line: -c, -f, stdin, formats, exit codes, demo data.

use std::io::Write;
use std::process::Stdio;

use crate::common::{abacus, json_rows, sql, sql_ok};

#[test]
fn json_format_nests_structs_and_writes_iso_dates_and_nulls() {
    let dir = tempfile::tempdir().unwrap();
    let rows = json_rows(
        dir.path(),
        "SELECT 1 AS n, named_struct('a', 1, 'b', 'x') AS s, DATE '2026-01-02' AS d, \
         TIMESTAMP '2026-01-02 03:04:05' AS ts, CAST(NULL AS VARCHAR) AS missing, \
         CAST(12.50 AS DECIMAL(10,2)) AS money",
    );
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row["n"], 1);
    assert_eq!(row["s"]["a"], 1);
    assert_eq!(row["s"]["b"], "x");
    assert_eq!(row["d"], "2026-01-02");
    assert_eq!(row["ts"], "2026-01-02T03:04:05");
    assert!(row["missing"].is_null());
    assert_eq!(row["money"].as_f64(), Some(12.5));
}

#[test]
fn empty_result_is_an_empty_json_array_and_ndjson_is_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    assert!(json_rows(dir.path(), "SELECT 1 AS x WHERE false").is_empty());
    let out = sql_ok(
        dir.path(),
        "SELECT * FROM (VALUES (1), (2)) AS t(x)",
        "ndjson",
    );
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines,
        vec![serde_json::json!({"x": 1}), serde_json::json!({"x": 2})]
    );
    let csv = sql_ok(dir.path(), "SELECT 1 AS a, 'x,y' AS b", "csv");
    assert_eq!(csv, "a,b\n1,\"x,y\"\n");
}

#[test]
fn errors_go_to_stderr_with_nonzero_status_and_stop_the_script() {
    let dir = tempfile::tempdir().unwrap();
    let out = abacus(dir.path())
        .args([
            "-c",
            "CREATE TABLE t (x INT); SELECT nope FROM t; INSERT INTO t VALUES (1)",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("ERROR") && stderr.contains("nope"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("CREATE TABLE"), "{stdout}");
    // The INSERT after the failing statement did not run.
    assert_eq!(crate::common::count(dir.path(), "t"), 0);
}

#[test]
fn runs_files_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("load.sql");
    std::fs::write(
        &script,
        "-- a script\nCREATE TABLE t (x INT);\nINSERT INTO t VALUES (1), (2);\nSELECT sum(x) AS s FROM t;\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let out = abacus(&data).arg("-f").arg(&script).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("INSERT 0 2") && stdout.contains("| 3 |"),
        "{stdout}"
    );

    let mut child = abacus(&data)
        .args(["--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"SELECT count(*) AS n FROM t;")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), r#"[{"n":2}]"#);
}

#[test]
fn data_directory_comes_from_the_environment_too() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(crate::common::binary())
        .env("ABACUS_DATA", dir.path())
        .args(["-c", "CREATE SCHEMA from_env"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("from_env").is_dir());
}

#[test]
fn help_shows_examples_and_version_prints() {
    let out = std::process::Command::new(crate::common::binary())
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("Examples:") && help.contains("--format"),
        "{help}"
    );
    let out = std::process::Command::new(crate::common::binary())
        .arg("--version")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("abacus "));
}

#[test]
fn demo_datasets_follow_the_nl_schemas_and_have_recent_data() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::run_ok(abacus(dir.path()).args(["demo", "--scale", "0.01"]));
    let tables = json_rows(
        dir.path(),
        "SELECT table_schema || '.' || table_name AS t FROM information_schema.tables \
         WHERE table_schema IN ('payments', 'marketplace', 'learning') ORDER BY 1",
    );
    let names: Vec<&str> = tables.iter().map(|r| r["t"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "learning.learners",
            "learning.levels",
            "learning.quiz_answers",
            "learning.quiz_sessions",
            "learning.words",
            "marketplace.cities",
            "marketplace.order_items",
            "marketplace.orders",
            "marketplace.payment_methods",
            "marketplace.products",
            "marketplace.users",
            "payments.mcc_categories",
            "payments.merchants",
            "payments.transactions",
        ]
    );
    // The eval's conventions: yesterday and the last 30 days have data.
    let rows = json_rows(
        dir.path(),
        "SELECT count(*) AS n FROM payments.transactions \
         WHERE created_at >= CURRENT_DATE - INTERVAL '1 day' AND created_at < CURRENT_DATE",
    );
    assert!(
        rows[0]["n"].as_i64().unwrap() > 0,
        "no transactions yesterday"
    );
    let rows = json_rows(
        dir.path(),
        "SELECT sum(oi.quantity * oi.unit_price) AS revenue FROM marketplace.orders o \
         JOIN marketplace.order_items oi ON o.order_id = oi.order_id \
         WHERE o.status IN ('paid', 'shipped', 'delivered') \
         AND o.created_at >= CURRENT_DATE - INTERVAL '30 days'",
    );
    assert!(rows[0]["revenue"].as_f64().unwrap() > 0.0);
    // Types follow shared/nl/schemas.sql.
    let types = json_rows(
        dir.path(),
        "SELECT column_name AS c, data_type AS t, is_nullable AS n FROM information_schema.columns \
         WHERE table_schema = 'payments' AND table_name = 'transactions' ORDER BY ordinal_position",
    );
    let got: Vec<String> = types
        .iter()
        .map(|r| {
            format!(
                "{} {} {}",
                r["c"].as_str().unwrap(),
                r["t"].as_str().unwrap(),
                r["n"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(got[0], "transaction_id Int64 NO");
    assert!(got[3].starts_with("amount Decimal128(18, 2)"), "{got:?}");
    assert!(
        got[6].starts_with("created_at Timestamp(µs)")
            || got[6].starts_with("created_at Timestamp(Microsecond"),
        "{got:?}"
    );
    // Deterministic: a second run writes the same data.
    let before = json_rows(
        dir.path(),
        "SELECT sum(amount) AS s, count(*) AS n FROM payments.transactions",
    );
    let out = abacus(dir.path())
        .args(["demo", "--scale", "0.01"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let after = json_rows(
        dir.path(),
        "SELECT sum(amount) AS s, count(*) AS n FROM payments.transactions",
    );
    assert_eq!(before, after);
    // A bad scale is refused.
    let out = abacus(dir.path())
        .args(["demo", "--scale", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn bad_sql_reports_syntax_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = sql(dir.path(), "SELEC 1");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("SELEC"));
}

#[test]
fn demo_data_answers_an_ab_question_with_unnest() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::run_ok(abacus(dir.path()).args(["--demo", "-c", "SELECT 1"]));
    let rows = json_rows(
        dir.path(),
        "SELECT unnest(welch_ttest(amount, merchant_id % 2 = 0)) FROM payments.transactions",
    );
    let row = rows[0].as_object().unwrap();
    let field = |suffix: &str| {
        row.iter()
            .find(|(k, _)| k.ends_with(suffix))
            .unwrap_or_else(|| panic!("no {suffix} in {row:?}"))
            .1
            .clone()
    };
    let p = field(".p_value").as_f64().unwrap();
    assert!((0.0..=1.0).contains(&p));
    let n = field(".n_control").as_i64().unwrap() + field(".n_treatment").as_i64().unwrap();
    assert_eq!(n, crate::common::count(dir.path(), "payments.transactions"));
}
