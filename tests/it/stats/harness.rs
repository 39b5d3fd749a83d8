//! Runs SQL over in-memory two-sample data with a plain DataFusion context plus Abacus's
//! functions, at a chosen batch size and partition count.

use std::sync::Arc;

use abacus_engine::datafusion::arrow::array::{ArrayRef, BooleanArray, Float64Array, RecordBatch};
use abacus_engine::datafusion::arrow::datatypes::{DataType, Field, Schema};
use abacus_engine::datafusion::common::ScalarValue;
use abacus_engine::datafusion::datasource::MemTable;
use abacus_engine::datafusion::prelude::{SessionConfig, SessionContext};

pub fn context(batch_size: usize, partitions: usize) -> SessionContext {
    let config = SessionConfig::new()
        .with_batch_size(batch_size)
        .with_target_partitions(partitions);
    let ctx = SessionContext::new_with_config(config);
    abacus_udfs::register_all(&ctx);
    ctx
}

/// Registers `name` with columns from `columns`, rows split into `partitions` partitions of
/// batches of `batch_size` rows.
pub fn register(
    ctx: &SessionContext,
    name: &str,
    columns: Vec<(&str, ArrayRef)>,
    batch_size: usize,
    partitions: usize,
) {
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(
        schema.clone(),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap();
    let rows = batch.num_rows();
    let per_partition = rows.div_ceil(partitions).max(1);
    let mut parts: Vec<Vec<RecordBatch>> = Vec::new();
    for p in 0..partitions {
        let start = (p * per_partition).min(rows);
        let end = ((p + 1) * per_partition).min(rows);
        let mut batches = Vec::new();
        let mut offset = start;
        while offset < end {
            let len = batch_size.min(end - offset);
            batches.push(batch.slice(offset, len));
            offset += len;
        }
        parts.push(batches);
    }
    let table = MemTable::try_new(schema, parts).unwrap();
    ctx.register_table(name, Arc::new(table)).unwrap();
}

/// Long-format two-sample data: `x` rows are treatment (true), `y` rows control (false).
pub fn two_sample(x: &[f64], y: &[f64]) -> Vec<(&'static str, ArrayRef)> {
    let values: Vec<f64> = x.iter().chain(y).copied().collect();
    let arms: Vec<bool> = x
        .iter()
        .map(|_| true)
        .chain(y.iter().map(|_| false))
        .collect();
    vec![
        ("v", Arc::new(Float64Array::from(values)) as ArrayRef),
        ("t", Arc::new(BooleanArray::from(arms)) as ArrayRef),
    ]
}

/// Runs `sql`, panicking with the query in the message when it fails.
pub async fn collect(ctx: &SessionContext, sql: &str) -> Vec<RecordBatch> {
    ctx.sql(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Runs a one-row query and returns its first column as (field name → value) for structs, or
/// `"value"` for anything else.
pub async fn one_row(ctx: &SessionContext, sql: &str) -> Vec<(String, ScalarValue)> {
    let batches = collect(ctx, sql).await;
    let batch = batches.iter().find(|b| b.num_rows() > 0).expect("one row");
    let value = ScalarValue::try_from_array(batch.column(0), 0).unwrap();
    match value {
        ScalarValue::Struct(s) => s
            .fields()
            .iter()
            .zip(s.columns())
            .map(|(f, c)| (f.name().clone(), ScalarValue::try_from_array(c, 0).unwrap()))
            .collect(),
        other => vec![("value".into(), other)],
    }
}

pub fn get(row: &[(String, ScalarValue)], name: &str) -> f64 {
    let v = &row
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no field {name}"))
        .1;
    match v.cast_to(&DataType::Float64).unwrap() {
        ScalarValue::Float64(Some(f)) => f,
        ScalarValue::Float64(None) => f64::NAN,
        other => panic!("{name}: {other}"),
    }
}
