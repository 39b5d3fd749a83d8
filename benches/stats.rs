//! Criterion benches: each statistical aggregate over one million in-memory rows (two arms,
//! normal data), through SQL on a DataFusion context with Abacus's functions.
//! `cargo bench --bench stats`; under `cargo test` each runs once on a small input.

use std::sync::Arc;

use abacus_engine::datafusion::arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch,
};
use abacus_engine::datafusion::arrow::datatypes::{Field, Schema};
use abacus_engine::datafusion::datasource::MemTable;
use abacus_engine::datafusion::prelude::SessionContext;
use criterion::{criterion_group, criterion_main, Criterion};

fn context(rows: usize) -> SessionContext {
    let ctx = SessionContext::new();
    abacus_udfs::register_all(&ctx);
    // A deterministic LCG with a Box–Muller step: no extra dependency.
    let mut state = 7u64;
    let mut uniform = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let (mut v, mut x, mut t, mut c) = (
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
    );
    for i in 0..rows {
        let z = (-2.0 * uniform().ln()).sqrt() * (2.0 * std::f64::consts::PI * uniform()).cos();
        let treatment = i % 2 == 0;
        x.push(100.0 + 10.0 * z);
        v.push(100.0 + 15.0 * z + if treatment { 0.1 } else { 0.0 } + 5.0 * uniform());
        t.push(treatment);
        c.push((uniform() * (rows / 3) as f64) as i64);
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new(
            "v",
            abacus_engine::datafusion::arrow::datatypes::DataType::Float64,
            false,
        ),
        Field::new(
            "x",
            abacus_engine::datafusion::arrow::datatypes::DataType::Float64,
            false,
        ),
        Field::new(
            "t",
            abacus_engine::datafusion::arrow::datatypes::DataType::Boolean,
            false,
        ),
        Field::new(
            "c",
            abacus_engine::datafusion::arrow::datatypes::DataType::Int64,
            false,
        ),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Float64Array::from(v)),
        Arc::new(Float64Array::from(x)),
        Arc::new(BooleanArray::from(t)),
        Arc::new(Int64Array::from(c)),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let chunk = 65_536.min(rows);
    let batches: Vec<RecordBatch> = (0..rows)
        .step_by(chunk)
        .map(|o| batch.slice(o, chunk.min(rows - o)))
        .collect();
    ctx.register_table(
        "d",
        Arc::new(MemTable::try_new(schema, vec![batches]).unwrap()),
    )
    .unwrap();
    ctx
}

fn bench(c: &mut Criterion) {
    let rows = if cfg!(debug_assertions) {
        10_000
    } else {
        1_000_000
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let ctx = context(rows);
    let mut group = c.benchmark_group(format!("aggregates_{rows}_rows"));
    group.sample_size(10);
    for (name, sql) in [
        ("welch_ttest", "SELECT welch_ttest(v, t) FROM d"),
        ("student_ttest", "SELECT student_ttest(v, t) FROM d"),
        ("mann_whitney_u", "SELECT mann_whitney_u(v, t) FROM d"),
        (
            "conversion_ztest",
            "SELECT conversion_ztest(v > 100, t) FROM d",
        ),
        ("cuped_ttest", "SELECT cuped_ttest(v, x, t) FROM d"),
        ("srm", "SELECT srm(t) FROM d"),
        ("repeat_rate", "SELECT repeat_rate(c) FROM d"),
        ("avg_baseline", "SELECT avg(v), stddev(v) FROM d GROUP BY t"),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| rt.block_on(async { ctx.sql(sql).await.unwrap().collect().await.unwrap() }))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
