//! Every case of shared/stats/stats_vectors.json through the SQL functions.

use std::sync::LazyLock;

use serde_json::Value;

use super::harness::{context, get, one_row, register, two_sample};

static VECTORS: LazyLock<Value> = LazyLock::new(|| {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/stats/stats_vectors.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (shared/ must sit beside the clone)",
            path.display()
        )
    });
    serde_json::from_str(&text).expect("stats_vectors.json parses")
});

pub fn section(name: &str) -> &'static [Value] {
    VECTORS[name]
        .as_array()
        .unwrap_or_else(|| panic!("no section {name}"))
}

pub fn number(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap(),
        Value::String(s) if s == "NaN" => f64::NAN,
        Value::String(s) if s == "Infinity" => f64::INFINITY,
        Value::String(s) if s == "-Infinity" => f64::NEG_INFINITY,
        Value::Null => f64::NAN,
        other => panic!("not a number: {other}"),
    }
}

/// A sample inline or by reference to the large arrays.
pub fn sample(v: &Value) -> Vec<f64> {
    let v = match v.get("ref") {
        Some(Value::String(name)) => &VECTORS["arrays"][name.as_str()],
        _ => v,
    };
    v.as_array()
        .expect("a sample array")
        .iter()
        .map(number)
        .collect()
}

/// Relative closeness; NaN matches NaN, infinities match themselves, and near zero the
/// difference is absolute.
pub fn check(id: &str, field: &str, actual: f64, expected: f64, rel: f64) {
    let ok = if expected.is_nan() {
        actual.is_nan()
    } else if expected.is_infinite() {
        actual == expected
    } else {
        let diff = (actual - expected).abs();
        diff <= rel * expected.abs() || diff <= 1e-12
    };
    assert!(
        ok,
        "{id}: {field} = {actual:e}, expected {expected:e} (rel tol {rel:e})"
    );
}

const STAT_TOL: f64 = 1e-12;
const P_TOL: f64 = 1e-9;

/// (batch size, partitions) combinations each small case runs with: batch sizes 1, 2, 3
/// and 8192, one and four partitions; partial states are serialised and merged whenever
/// there is more than one partition.
pub const LAYOUTS: &[(usize, usize)] = &[(1, 1), (2, 4), (3, 1), (8192, 4), (1, 4), (8192, 1)];

pub fn layouts(rows: usize) -> &'static [(usize, usize)] {
    if rows <= 500 {
        LAYOUTS
    } else {
        &LAYOUTS[3..4]
    }
}

#[tokio::test]
async fn ttest_ind_vectors() {
    for case in section("ttest_ind") {
        let id = case["id"].as_str().unwrap();
        let x = sample(&case["x"]);
        let y = sample(&case["y"]);
        let function = if case["equal_var"].as_bool().unwrap() {
            "student_ttest"
        } else {
            "welch_ttest"
        };
        let alternative = case["alternative"].as_str().unwrap();
        let level = number(&case["confidence_level"]);
        let e = &case["expected"];
        // Values near 1e9: scipy's own two-pass answer is 5e-7 off; compare with the exact one.
        let exact = case.get("exact_reference");
        for &(batch, partitions) in layouts(x.len() + y.len()) {
            let ctx = context(batch, partitions);
            register(&ctx, "d", two_sample(&x, &y), batch, partitions);
            let sql = format!("SELECT {function}(v, t, '{alternative}', {level}) FROM d");
            let row = one_row(&ctx, &sql).await;
            let id = format!("{id} [batch {batch}, {partitions} partitions]");
            check(
                &id,
                "n_treatment",
                get(&row, "n_treatment"),
                number(&e["nx"]),
                0.0,
            );
            check(
                &id,
                "n_control",
                get(&row, "n_control"),
                number(&e["ny"]),
                0.0,
            );
            check(
                &id,
                "mean_treatment",
                get(&row, "mean_treatment"),
                number(&e["mean_x"]),
                STAT_TOL,
            );
            check(
                &id,
                "mean_control",
                get(&row, "mean_control"),
                number(&e["mean_y"]),
                STAT_TOL,
            );
            let statistic = number(&e["statistic"]);
            if statistic.is_nan() {
                // Too few rows or no variance at all: the contract's NaN result (scipy
                // still reports a df there, which the contract does not).
                check(&id, "statistic", get(&row, "statistic"), f64::NAN, 0.0);
                check(&id, "p_value", get(&row, "p_value"), f64::NAN, 0.0);
                continue;
            }
            if let Some(exact) = exact {
                check(
                    &id,
                    "statistic",
                    get(&row, "statistic"),
                    number(&exact["statistic"]),
                    STAT_TOL,
                );
                check(&id, "df", get(&row, "df"), number(&exact["df"]), 1e-9);
                check(
                    &id,
                    "p_value",
                    get(&row, "p_value"),
                    number(&exact["pvalue"]),
                    P_TOL,
                );
                // The interval is scipy's, from its mean rounded on the 1e9 grid (spacing
                // 1.2e-7): equal within that absolute error.
                for bound in ["ci_low", "ci_high"] {
                    let (a, b) = (get(&row, bound), number(&e[bound]));
                    assert!((a - b).abs() < 5e-7, "{id}: {bound} = {a}, scipy {b}");
                }
                continue;
            }
            check(
                &id,
                "statistic",
                get(&row, "statistic"),
                statistic,
                STAT_TOL,
            );
            check(&id, "df", get(&row, "df"), number(&e["df"]), STAT_TOL);
            check(
                &id,
                "p_value",
                get(&row, "p_value"),
                number(&e["pvalue"]),
                P_TOL,
            );
            check(
                &id,
                "ci_low",
                get(&row, "ci_low"),
                number(&e["ci_low"]),
                STAT_TOL,
            );
            check(
                &id,
                "ci_high",
                get(&row, "ci_high"),
                number(&e["ci_high"]),
                STAT_TOL,
            );
        }
    }
}

#[tokio::test]
async fn mannwhitneyu_vectors() {
    for case in section("mannwhitneyu") {
        let id = case["id"].as_str().unwrap();
        let x = sample(&case["x"]);
        let y = sample(&case["y"]);
        let alternative = case["alternative"].as_str().unwrap();
        let continuity = case["use_continuity"].as_bool().unwrap();
        let method = case["method"].as_str().unwrap();
        let e = &case["expected"];
        for &(batch, partitions) in layouts(x.len() + y.len()) {
            let ctx = context(batch, partitions);
            register(&ctx, "d", two_sample(&x, &y), batch, partitions);
            let sql = format!("SELECT mann_whitney_u(v, t, '{alternative}', {continuity}, '{method}') FROM d");
            let row = one_row(&ctx, &sql).await;
            let id = format!("{id} [batch {batch}, {partitions} partitions]");
            check(&id, "statistic", get(&row, "statistic"), number(&e["u1"]), STAT_TOL);
            check(&id, "p_value", get(&row, "p_value"), number(&e["pvalue"]), P_TOL);
            check(&id, "n_treatment", get(&row, "n_treatment"), x.len() as f64, 0.0);
            check(&id, "n_control", get(&row, "n_control"), y.len() as f64, 0.0);
        }
    }
}
