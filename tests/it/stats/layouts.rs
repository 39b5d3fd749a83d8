//! The generic aggregate test: every aggregate gives the same answer whatever the batch size
//! (1, 2, 3, 8192) and partition count (1, 4: partial states serialised and merged), and as
//! a window function over a growing frame its last row equals the plain aggregate.

use std::sync::Arc;

use abacus_engine::datafusion::arrow::array::{ArrayRef, BooleanArray, Float64Array, Int64Array};
use abacus_engine::datafusion::common::ScalarValue;

use super::harness::{collect, context, register};

/// A call per aggregate over the columns of `data()`.
const CALLS: &[(&str, &str)] = &[
    ("welch_ttest", "welch_ttest(v, t)"),
    ("student_ttest", "student_ttest(v, t, 'greater', 0.9)"),
    ("mann_whitney_u", "mann_whitney_u(v, t)"),
    ("conversion_ztest", "conversion_ztest(cv, t)"),
    ("srm", "srm(arm)"),
    ("cuped_ttest", "cuped_ttest(v, x, t)"),
    ("repeat_rate", "repeat_rate(c, o)"),
    ("quiz_weight", "quiz_weight(w)"),
    ("client_rating", "client_rating(w, s)"),
];

fn data() -> Vec<(&'static str, ArrayRef)> {
    let n = 300usize;
    // A deterministic LCG: no dependency, the same rows every run.
    let mut state = 42u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut cols: [Vec<f64>; 4] = Default::default();
    let (mut t, mut g, mut c, mut o, mut arm, mut cv, mut s) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    for i in 0..n {
        let u = next();
        let treatment = u < 0.5;
        let x = 100.0 + 30.0 * next();
        cols[0].push(1e6 + x * 0.5 + 10.0 * next() + if treatment { 2.0 } else { 0.0 });
        cols[1].push(x);
        cols[2].push((next() * 100.0).round() / 100.0);
        cols[3].push(i as f64);
        t.push(if i % 17 == 0 { None } else { Some(treatment) });
        g.push((i % 3) as i64);
        c.push((next() * 60.0) as i64);
        o.push((next() * 4.0) as i64);
        arm.push(if next() < 0.52 { "A" } else { "B" });
        cv.push(next() < if treatment { 0.3 } else { 0.25 });
        s.push(if next() < 0.3 { 100.0 } else { 80.0 });
    }
    let [v, x, w, i] = cols;
    vec![
        ("v", Arc::new(Float64Array::from(v)) as ArrayRef),
        ("x", Arc::new(Float64Array::from(x))),
        ("w", Arc::new(Float64Array::from(w))),
        ("i", Arc::new(Float64Array::from(i))),
        ("t", Arc::new(BooleanArray::from(t))),
        ("g", Arc::new(Int64Array::from(g))),
        ("c", Arc::new(Int64Array::from(c))),
        ("o", Arc::new(Int64Array::from(o))),
        (
            "arm",
            Arc::new(abacus_engine::datafusion::arrow::array::StringArray::from(
                arm,
            )),
        ),
        ("cv", Arc::new(BooleanArray::from(cv))),
        ("s", Arc::new(Float64Array::from(s))),
    ]
}

/// Every number of a result row, struct fields flattened; NaN kept as NaN.
fn numbers(value: &ScalarValue) -> Vec<f64> {
    match value {
        ScalarValue::Struct(s) => s
            .columns()
            .iter()
            .flat_map(|c| numbers(&ScalarValue::try_from_array(c, 0).unwrap()))
            .collect(),
        other => match other
            .cast_to(&abacus_engine::datafusion::arrow::datatypes::DataType::Float64)
            .unwrap()
        {
            ScalarValue::Float64(v) => vec![v.unwrap_or(f64::NAN)],
            _ => unreachable!(),
        },
    }
}

fn same(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            (x.is_nan() && y.is_nan()) || x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs())
        })
}

async fn rows(batch: usize, partitions: usize, sql: &str) -> Vec<Vec<f64>> {
    let ctx = context(batch, partitions);
    register(&ctx, "d", data(), batch, partitions);
    let batches = collect(&ctx, sql).await;
    let mut out = Vec::new();
    for b in &batches {
        for r in 0..b.num_rows() {
            out.push(numbers(
                &ScalarValue::try_from_array(b.column(0), r).unwrap(),
            ));
        }
    }
    out
}

#[tokio::test]
async fn every_aggregate_is_layout_independent_and_works_as_a_window() {
    let registered: Vec<String> = abacus_udfs::aggregate_functions()
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    let covered: Vec<&str> = CALLS.iter().map(|(n, _)| *n).collect();
    assert_eq!(registered, covered, "every aggregate needs a call in CALLS");

    for (name, call) in CALLS {
        let sql = format!("SELECT {call} FROM d GROUP BY g ORDER BY g");
        let reference = rows(8192, 1, &sql).await;
        assert_eq!(reference.len(), 3, "{name}: one row per group");
        for &(batch, partitions) in super::vectors::LAYOUTS {
            let got = rows(batch, partitions, &sql).await;
            for (g, (a, b)) in got.iter().zip(&reference).enumerate() {
                assert!(
                    same(a, b),
                    "{name} group {g} [batch {batch}, {partitions} partitions]: {a:?} vs {b:?}"
                );
            }
        }
        // As a window function: the running value at each group's last row is the aggregate.
        let window = format!(
            "SELECT last_value(r ORDER BY i) FROM (SELECT g, i, {call} OVER (PARTITION BY g ORDER BY i) AS r FROM d) GROUP BY g ORDER BY g"
        );
        let got = rows(3, 4, &window).await;
        for (g, (a, b)) in got.iter().zip(&reference).enumerate() {
            assert!(same(a, b), "{name} as a window, group {g}: {a:?} vs {b:?}");
        }
        // A sliding frame exercises retract_batch where the function supports it.
        let sliding = format!("SELECT {call} OVER (PARTITION BY g ORDER BY i ROWS BETWEEN 5 PRECEDING AND CURRENT ROW) FROM d");
        let ctx = context(7, 2);
        register(&ctx, "d", data(), 7, 2);
        match ctx.sql(&sliding).await {
            Ok(df) => {
                let result = df.collect().await;
                if let Err(e) = &result {
                    // Only the functions that keep whole samples or sets refuse to slide.
                    assert!(
                        ["mann_whitney_u", "repeat_rate"].contains(name),
                        "{name} over a sliding frame: {e}"
                    );
                }
            }
            Err(e) => panic!("{name} sliding window does not plan: {e}"),
        }
    }
}

#[tokio::test]
async fn sliding_window_matches_recomputation() {
    // Over a 10-row sliding frame (retract_batch) each function equals the aggregate over
    // the same 10 rows.
    for call in [
        "welch_ttest(v, t)",
        "cuped_ttest(v, x, t)",
        "conversion_ztest(cv, t)",
        "srm(arm)",
        "quiz_weight(w)",
        "client_rating(w, s)",
    ] {
        let ctx = context(4, 1);
        register(&ctx, "d", data(), 4, 1);
        let sql = format!("SELECT i, {call} OVER (ORDER BY i ROWS BETWEEN 9 PRECEDING AND CURRENT ROW) AS r FROM d ORDER BY i");
        let batches = collect(&ctx, &sql).await;
        let mut sliding = Vec::new();
        for b in &batches {
            for r in 0..b.num_rows() {
                sliding.push(numbers(
                    &ScalarValue::try_from_array(b.column(1), r).unwrap(),
                ));
            }
        }
        for end in [9usize, 50, 299] {
            let sql = format!("SELECT {call} FROM d WHERE i BETWEEN {} AND {end}", end - 9);
            let direct = rows(8192, 1, &sql).await;
            assert!(
                same(&sliding[end], &direct[0]),
                "{call} row {end}: {:?} vs {:?}",
                sliding[end],
                direct[0]
            );
        }
    }
}

#[tokio::test]
async fn repeated_runs_give_the_same_bits() {
    // Partial states reach the final aggregate in thread order; the result must not depend
    // on it (ClickHouse's t-tests differ from run to run at 10M rows).
    for call in [
        "welch_ttest(v, t)",
        "cuped_ttest(v, x, t)",
        "quiz_weight(w)",
        "mann_whitney_u(v, t)",
    ] {
        let sql = format!("SELECT {call} FROM d");
        let first = rows(7, 4, &sql).await;
        for _ in 0..6 {
            let again = rows(7, 4, &sql).await;
            let bits =
                |r: &Vec<Vec<f64>>| r.iter().flatten().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&first), bits(&again), "{call} changed between runs");
        }
    }
}
