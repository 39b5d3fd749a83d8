//! Distinct values of a small table's string columns, counted once per table version.
//!
//! The Delta log holds no distinct counts, and a string's min and max do not count its
//! values, so `n_name = 'SAUDI ARABIA'` was estimated to keep DataFusion's default 20 % of
//! nation (5 nations, not 1). TPC-H q21 then could not tell joining the one nation's
//! suppliers to lineitem first from joining orders first. A table of a few thousand rows is
//! counted in milliseconds; the counts go to the join order (join_order.rs) and, as the
//! scan's `distinct_count`, to DataFusion's filter estimates.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::catalog::TableProvider;
use datafusion::execution::SessionState;
use datafusion::functions_aggregate::expr_fn::count_distinct;
use datafusion::prelude::{ident, SessionContext};

use crate::scan_stats::TableStats;

/// Tables of up to this many rows (by the Delta log) are counted.
const MAX_ROWS: usize = 10_000;

/// Counts the string columns' distinct values of `provider`'s table into `stats`, once.
/// A table that is larger, of unknown size, or whose count fails gets no counts: they only
/// sharpen estimates.
pub(crate) async fn count_small_table(
    stats: &TableStats,
    state: &SessionState,
    provider: Arc<dyn TableProvider>,
) {
    if stats.distinct.get().is_some() {
        return;
    }
    let counts = match stats.rows {
        Some(rows) if rows <= MAX_ROWS => count(state, provider).await.unwrap_or_default(),
        _ => HashMap::new(),
    };
    // A query that counted at the same time set the same counts.
    let _ = stats.distinct.set(counts);
}

async fn count(
    state: &SessionState,
    provider: Arc<dyn TableProvider>,
) -> datafusion::error::Result<HashMap<String, usize>> {
    let names: Vec<String> = provider
        .schema()
        .fields()
        .iter()
        .filter(|f| {
            matches!(
                f.data_type(),
                DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
            )
        })
        .map(|f| f.name().clone())
        .collect();
    if names.is_empty() {
        return Ok(HashMap::new());
    }
    let ctx = SessionContext::new_with_state(state.clone());
    let counts = names
        .iter()
        .map(|n| count_distinct(ident(n)).alias(n))
        .collect::<Vec<_>>();
    let batches = ctx
        .read_table(provider)?
        .aggregate(vec![], counts)?
        .collect()
        .await?;
    let mut out = HashMap::new();
    for batch in &batches {
        for (name, column) in names.iter().zip(batch.columns()) {
            if let Some(counted) = column.as_primitive_opt::<Int64Type>() {
                if counted.len() == 1 && counted.is_valid(0) {
                    out.insert(name.clone(), counted.value(0).max(0) as usize);
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::test_util::{database, query_text};

    /// The counts reach the scan's statistics, for small tables only.
    #[tokio::test]
    async fn a_small_tables_strings_are_counted_and_a_large_ones_are_not() {
        let (_dir, db) = database();
        let session = db.session();
        for sql in [
            "CREATE TABLE small AS SELECT value AS id, \
             CASE WHEN value % 3 = 0 THEN 'a' WHEN value % 3 = 1 THEN 'b' ELSE NULL END AS k \
             FROM range(100)",
            "CREATE TABLE large AS SELECT value AS id, 'k' || (value % 7) AS k FROM range(20000)",
            "SET datafusion.explain.show_statistics = true",
        ] {
            session.execute_one(sql).await.unwrap();
        }
        let scan = |plan: String| {
            plan.lines()
                .find(|l| l.contains("DataSourceExec"))
                .expect("a Parquet scan")
                .to_string()
        };
        // Two values and NULL: count(DISTINCT) leaves NULL out.
        let small = scan(query_text(&session, "EXPLAIN SELECT k FROM small").await);
        assert!(small.contains("Distinct=Inexact(2)"), "{small}");
        let large = scan(query_text(&session, "EXPLAIN SELECT k FROM large").await);
        assert!(!large.contains("Distinct="), "{large}");
    }
}
