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

/// A JSON array of numbers.
pub fn numbers(v: &Value) -> Vec<f64> {
    v.as_array().expect("an array").iter().map(number).collect()
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
            let sql = format!(
                "SELECT mann_whitney_u(v, t, '{alternative}', {continuity}, '{method}') FROM d"
            );
            let row = one_row(&ctx, &sql).await;
            let id = format!("{id} [batch {batch}, {partitions} partitions]");
            check(
                &id,
                "statistic",
                get(&row, "statistic"),
                number(&e["u1"]),
                STAT_TOL,
            );
            check(
                &id,
                "p_value",
                get(&row, "p_value"),
                number(&e["pvalue"]),
                P_TOL,
            );
            check(
                &id,
                "n_treatment",
                get(&row, "n_treatment"),
                x.len() as f64,
                0.0,
            );
            check(
                &id,
                "n_control",
                get(&row, "n_control"),
                y.len() as f64,
                0.0,
            );
        }
    }
}

use std::sync::Arc;

use abacus_engine::datafusion::arrow::array::{ArrayRef, BooleanArray, Float64Array, Int64Array};

fn f64_column(values: Vec<f64>) -> ArrayRef {
    Arc::new(Float64Array::from(values))
}

/// Rows of (converted, arm) for proportion counts.
fn conversions(s_t: u64, n_t: u64, s_c: u64, n_c: u64) -> Vec<(&'static str, ArrayRef)> {
    let mut converted = Vec::new();
    let mut arm = Vec::new();
    for (s, n, t) in [(s_t, n_t, true), (s_c, n_c, false)] {
        for i in 0..n {
            converted.push(i < s);
            arm.push(t);
        }
    }
    vec![
        ("c", Arc::new(BooleanArray::from(converted)) as ArrayRef),
        ("t", Arc::new(BooleanArray::from(arm)) as ArrayRef),
    ]
}

fn check_proportions(
    id: &str,
    row: &[(String, abacus_engine::datafusion::common::ScalarValue)],
    case: &Value,
) {
    let e = &case["expected"];
    check(
        id,
        "statistic",
        get(row, "statistic"),
        number(&e["z_pooled"]),
        STAT_TOL,
    );
    check(
        id,
        "p_value",
        get(row, "p_value"),
        number(&e["p_pooled"]),
        P_TOL,
    );
    check(
        id,
        "rate_treatment",
        get(row, "rate_treatment"),
        number(&e["prop_x"]),
        STAT_TOL,
    );
    check(
        id,
        "rate_control",
        get(row, "rate_control"),
        number(&e["prop_y"]),
        STAT_TOL,
    );
    check(
        id,
        "lift",
        get(row, "lift"),
        number(&e["relative_lift"]),
        STAT_TOL,
    );
    let (low, high) = (number(&e["ci_wald_low"]), number(&e["ci_wald_high"]));
    match case["alternative"].as_str().unwrap() {
        "two-sided" => {
            check(id, "ci_low", get(row, "ci_low"), low, STAT_TOL);
            check(id, "ci_high", get(row, "ci_high"), high, STAT_TOL);
        }
        // The vectors carry statsmodels' two-sided Wald interval; the one-sided bound uses the
        // same standard error with z at the confidence level (0.95 → 1.6448536269514722).
        alternative => {
            let level = number(&case["confidence_level"]);
            assert_eq!(level, 0.95, "{id}: one-sided checks assume 95 %");
            let diff = (low + high) / 2.0;
            let se = (high - low) / (2.0 * 1.959_963_984_540_054);
            let z = 1.644_853_626_951_472_2;
            if alternative == "greater" {
                check(id, "ci_low", get(row, "ci_low"), diff - z * se, 1e-10);
                check(id, "ci_high", get(row, "ci_high"), f64::INFINITY, 0.0);
            } else {
                check(id, "ci_low", get(row, "ci_low"), f64::NEG_INFINITY, 0.0);
                check(id, "ci_high", get(row, "ci_high"), diff + z * se, 1e-10);
            }
        }
    }
}

#[tokio::test]
async fn proportions_ztest_vectors() {
    for case in section("proportions_ztest") {
        let id = case["id"].as_str().unwrap();
        let count = |k: &str| case[k].as_u64().unwrap();
        let (s_t, n_t, s_c, n_c) = (
            count("successes_x"),
            count("trials_x"),
            count("successes_y"),
            count("trials_y"),
        );
        let alternative = case["alternative"].as_str().unwrap();
        let level = number(&case["confidence_level"]);
        // The scalar function over counts (control first).
        let ctx = context(8192, 1);
        let sql = format!(
            "SELECT proportions_ztest({s_c}, {n_c}, {s_t}, {n_t}, '{alternative}', {level})"
        );
        check_proportions(
            &format!("{id} [proportions_ztest]"),
            &one_row(&ctx, &sql).await,
            case,
        );
        // The aggregate over one row per user.
        for &(batch, partitions) in &LAYOUTS[3..4] {
            let ctx = context(batch, partitions);
            register(
                &ctx,
                "d",
                conversions(s_t, n_t, s_c, n_c),
                batch,
                partitions,
            );
            let sql = format!("SELECT conversion_ztest(c, t, '{alternative}', {level}) FROM d");
            check_proportions(
                &format!("{id} [conversion_ztest]"),
                &one_row(&ctx, &sql).await,
                case,
            );
        }
    }
}

#[tokio::test]
async fn srm_vectors() {
    for case in section("srm_chisquare") {
        let id = case["id"].as_str().unwrap();
        let observed: Vec<f64> = numbers(&case["observed"]);
        let weights: Vec<f64> = numbers(&case["weights"]);
        let e = &case["expected"];
        let list = |v: &[f64]| {
            v.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let ctx = context(8192, 1);
        let sql = format!(
            "SELECT srm_test([{}], [{}])",
            list(&observed),
            list(&weights)
        );
        let row = one_row(&ctx, &sql).await;
        check(
            id,
            "statistic",
            get(&row, "statistic"),
            number(&e["chi2"]),
            STAT_TOL,
        );
        check(
            id,
            "p_value",
            get(&row, "p_value"),
            number(&e["p_value"]),
            P_TOL,
        );
        // The aggregate tests equal shares: run it where the plan was equal.
        if weights.iter().all(|w| *w == weights[0]) {
            let arms: Vec<i64> = observed
                .iter()
                .enumerate()
                .flat_map(|(arm, n)| std::iter::repeat_n(arm as i64, *n as usize))
                .collect();
            let ctx = context(8192, 4);
            register(
                &ctx,
                "d",
                vec![("arm", Arc::new(Int64Array::from(arms)) as ArrayRef)],
                8192,
                4,
            );
            let row = one_row(&ctx, "SELECT srm(arm) FROM d").await;
            check(
                &format!("{id} [srm]"),
                "statistic",
                get(&row, "statistic"),
                number(&e["chi2"]),
                STAT_TOL,
            );
            check(
                &format!("{id} [srm]"),
                "p_value",
                get(&row, "p_value"),
                number(&e["p_value"]),
                P_TOL,
            );
        }
    }
}

#[tokio::test]
async fn multiple_testing_vectors() {
    for case in section("multiple_testing") {
        let id = case["id"].as_str().unwrap();
        let p: Vec<f64> = numbers(&case["pvalues"]);
        let expected: Vec<f64> = numbers(&case["expected"]["adjusted"]);
        let method = case["method"].as_str().unwrap();
        let ctx = context(2, 2);
        let idx: Vec<i64> = (0..p.len() as i64).collect();
        register(
            &ctx,
            "d",
            vec![
                ("i", Arc::new(Int64Array::from(idx)) as ArrayRef),
                ("p", f64_column(p.clone())),
            ],
            2,
            2,
        );
        let sql = format!("SELECT p_adjust(p, '{method}') OVER () AS adj, i FROM d ORDER BY i");
        let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
        let got: Vec<f64> = batches
            .iter()
            .flat_map(|b| {
                b.column(0)
                    .as_any()
                    .downcast_ref::<Float64Array>()
                    .unwrap()
                    .values()
                    .to_vec()
            })
            .collect();
        assert_eq!(got.len(), expected.len());
        for (k, (g, e)) in got.iter().zip(&expected).enumerate() {
            check(&format!("{id}[{k}]"), "adjusted", *g, *e, STAT_TOL);
        }
    }
}

#[tokio::test]
async fn business_metric_vectors() {
    let small = &section("business_metrics")[0];
    assert_eq!(small["id"], "repeat_rate_small");
    let orders = small["orders"].as_array().unwrap();
    let customers: Vec<i64> = orders.iter().map(|o| o[0].as_i64().unwrap()).collect();
    let order_ids: Vec<i64> = orders.iter().map(|o| o[1].as_i64().unwrap()).collect();
    for &(batch, partitions) in LAYOUTS {
        let ctx = context(batch, partitions);
        register(
            &ctx,
            "d",
            vec![
                (
                    "c",
                    Arc::new(Int64Array::from(customers.clone())) as ArrayRef,
                ),
                (
                    "o",
                    Arc::new(Int64Array::from(order_ids.clone())) as ArrayRef,
                ),
            ],
            batch,
            partitions,
        );
        let expected = number(&small["expected"]["repeat_rate"]);
        for sql in [
            "SELECT repeat_rate(c, o) FROM d",
            "SELECT repeat_rate(c) FROM d",
        ] {
            let rate = get(&one_row(&ctx, sql).await, "value");
            check(
                &format!("repeat_rate_small {sql} [{batch}, {partitions}]"),
                "rate",
                rate,
                expected,
                STAT_TOL,
            );
        }
    }

    // A/B on repeat rate: per-customer order counts become order rows per arm.
    let ab = &section("business_metrics")[1];
    let e = &ab["expected"];
    let (mut c, mut o, mut t) = (Vec::new(), Vec::new(), Vec::new());
    for (arm, name) in [(false, "LARGE_CX"), (true, "LARGE_CY")] {
        for (customer, count) in sample(&serde_json::json!({"ref": name})).iter().enumerate() {
            for k in 0..*count as i64 {
                c.push(customer as i64 + if arm { 1_000_000 } else { 0 });
                o.push(k);
                t.push(arm);
            }
        }
    }
    let ctx = context(8192, 4);
    register(
        &ctx,
        "d",
        vec![
            ("c", Arc::new(Int64Array::from(c)) as ArrayRef),
            ("o", Arc::new(Int64Array::from(o)) as ArrayRef),
            ("t", Arc::new(BooleanArray::from(t)) as ArrayRef),
        ],
        8192,
        4,
    );
    for (arm, field) in [("false", "control_rate"), ("true", "treatment_rate")] {
        let rate = get(
            &one_row(
                &ctx,
                &format!("SELECT repeat_rate(c, o) FROM d WHERE t = {arm}"),
            )
            .await,
            "value",
        );
        check("repeat_rate_ab", field, rate, number(&e[field]), STAT_TOL);
    }
    let n = |k: &str| e[k].as_u64().unwrap();
    let sql = format!(
        "SELECT proportions_ztest({}, {}, {}, {})",
        n("control_repeaters"),
        n("control_customers"),
        n("treatment_repeaters"),
        n("treatment_customers")
    );
    let row = one_row(&ctx, &sql).await;
    check(
        "repeat_rate_ab",
        "z",
        get(&row, "statistic"),
        number(&e["z_pooled_treatment_minus_control"]),
        STAT_TOL,
    );
    check(
        "repeat_rate_ab",
        "p",
        get(&row, "p_value"),
        number(&e["p_two_sided"]),
        P_TOL,
    );
}

#[tokio::test]
async fn cuped_vector() {
    let case = &section("cuped")[0];
    let e = &case["expected"];
    let (pre_a, post_a, pre_b, post_b) = (
        sample(&case["pre_a"]),
        sample(&case["post_a"]),
        sample(&case["pre_b"]),
        sample(&case["post_b"]),
    );
    let post: Vec<f64> = post_b.iter().chain(&post_a).copied().collect();
    let pre: Vec<f64> = pre_b.iter().chain(&pre_a).copied().collect();
    let arm: Vec<bool> = post_b
        .iter()
        .map(|_| true)
        .chain(post_a.iter().map(|_| false))
        .collect();
    for &(batch, partitions) in LAYOUTS {
        let ctx = context(batch, partitions);
        register(
            &ctx,
            "d",
            vec![
                ("y", f64_column(post.clone())),
                ("x", f64_column(pre.clone())),
                ("t", Arc::new(BooleanArray::from(arm.clone())) as ArrayRef),
            ],
            batch,
            partitions,
        );
        let row = one_row(&ctx, "SELECT cuped_ttest(y, x, t) FROM d").await;
        let id = format!("cuped_absolute [{batch}, {partitions}]");
        check(
            &id,
            "theta",
            get(&row, "theta"),
            number(&e["theta_pooled"]),
            STAT_TOL,
        );
        let diff = get(&row, "mean_treatment") - get(&row, "mean_control");
        check(&id, "diff", diff, number(&e["diff_cuped"]), 1e-11);
        check(
            &id,
            "statistic",
            get(&row, "statistic"),
            number(&e["diff_cuped"]) / number(&e["se_cuped"]),
            1e-11,
        );
        check(
            &id,
            "variance_reduction",
            get(&row, "variance_reduction"),
            number(&e["variance_reduction"]),
            1e-11,
        );
    }
}

/// Φ(x) for the expected values of the power functions' far-tail adjustment.
fn phi(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

#[tokio::test]
async fn power_vectors() {
    let ctx = context(8192, 1);
    let mut checked = 0;
    let mut outside = Vec::new();
    for case in section("power") {
        let id = case["id"].as_str().unwrap();
        let i = &case["inputs"];
        let e = &case["expected"];
        let input = |k: &str| number(&i[k]);
        // The functions are two-sided with equal arms (CONTRACT.md); other designs are not
        // their API.
        let two_sided_equal = i
            .get("alternative")
            .and_then(Value::as_str)
            .unwrap_or("two-sided")
            == "two-sided"
            && i.get("ratio").map(number).unwrap_or(1.0) == 1.0;
        let kind = case["kind"].as_str().unwrap();
        if !two_sided_equal || kind == "mde_relative_growthbook" {
            outside.push(id.to_string());
            continue;
        }
        let value = |sql: String| {
            let ctx = &ctx;
            async move { get(&one_row(ctx, &sql).await, "value") }
        };
        match kind {
            "sample_size_means" => {
                let got = value(format!(
                    "SELECT sample_size_mean({}, {}, {}, {})",
                    input("std"),
                    input("delta"),
                    input("alpha"),
                    input("power")
                ))
                .await;
                check(id, "n", got, number(&e["nobs1_ceil_closed_form"]), 0.0);
            }
            "mde_means" => {
                let got = value(format!(
                    "SELECT mde_mean({}, {}, {}, {})",
                    input("std"),
                    input("nobs1"),
                    input("alpha"),
                    input("power")
                ))
                .await;
                check(id, "mde", got, number(&e["mde_abs_closed_form"]), STAT_TOL);
            }
            "power_means" => {
                let got = value(format!(
                    "SELECT power_mean({}, {}, {}, {})",
                    input("std"),
                    input("delta"),
                    input("nobs1"),
                    input("alpha")
                ))
                .await;
                // The vector counts both tails; the contract's formula ignores the far one.
                let se = input("std") * (2.0 / input("nobs1")).sqrt();
                let z_a = 1.959_963_984_540_054;
                assert_eq!(input("alpha"), 0.05);
                let far_tail = phi(-input("delta") / se - z_a);
                check(
                    id,
                    "power",
                    got,
                    number(&e["power_closed_form_two_tails"]) - far_tail,
                    1e-12,
                );
            }
            "sample_size_proportions" => {
                let got = value(format!(
                    "SELECT sample_size_proportion({}, {}, {}, {})",
                    input("baseline_rate"),
                    input("mde_absolute"),
                    input("alpha"),
                    input("power")
                ))
                .await;
                check(
                    id,
                    "n",
                    got,
                    number(&e["nobs1_fleiss_pooled_null"]).ceil(),
                    0.0,
                );
            }
            "mde_proportions" => {
                let (p, n) = (input("baseline_rate"), input("nobs_per_group"));
                let (alpha, power) = (input("alpha"), input("power"));
                let mde = value(format!("SELECT mde_proportion({p}, {n}, {alpha}, {power})")).await;
                // The exact inverse of the sample size: n users detect it, slightly fewer do not.
                let back = value(format!(
                    "SELECT sample_size_proportion({p}, {mde}, {alpha}, {power})"
                ))
                .await;
                assert_eq!(
                    back, n,
                    "{id}: sample_size_proportion(mde_proportion(n)) = {back}, expected {n}"
                );
                let smaller = value(format!(
                    "SELECT sample_size_proportion({p}, {}, {alpha}, {power})",
                    mde * (1.0 - 1e-7)
                ))
                .await;
                assert!(
                    smaller > n,
                    "{id}: a smaller effect should need more than {n} users, got {smaller}"
                );
                // statsmodels' root also counts the far tail: within half a percent.
                check(
                    id,
                    "mde vs statsmodels",
                    mde,
                    number(&e["mde_abs_statsmodels_power_root"]),
                    5e-3,
                );
            }
            other => panic!("{id}: unexpected kind {other}"),
        }
        checked += 1;
    }
    assert_eq!(checked, 18, "cases outside the API: {outside:?}");
    assert_eq!(
        outside,
        [
            "n_means_d1.0_sd10.0_a0.05_p0.8_r2.0_two-sided",
            "n_means_d1.0_sd10.0_a0.05_p0.8_r1.0_larger",
            "mde_means_n5000_sd3.0_r0.5_p0.9",
            "n_props_p0.05_rel0.2_a0.05_pw0.8_r2.0",
            "growthbook_rel_mde_m0.1_n20000",
            "growthbook_rel_mde_m50.0_n100000",
        ]
    );
}
