//! Plain tables' Parquet scans built from a file list read once per table version.
//!
//! delta-rs plans every scan by replaying the table's file actions through delta-kernel:
//! 18 % of a server's samples over TPC-H at SF0.01, though a version's files never change
//! (BENCHMARKS.md, "where a small query's time goes"). A plain table (plain_scan.rs) needs
//! nothing from that replay but each file's path, size and statistics, which scan_stats.rs
//! reads from the log once per version; the scan is built from them here, as delta-rs
//! builds it (one Parquet source over the files, predicate for pruning only, files the
//! statistics rule out left out), without the file-id column `PlainScanExec` dropped.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{Int64Type, Schema, SchemaRef};
use datafusion::catalog::Session;
use datafusion::common::pruning::PrunableStatistics;
use datafusion::common::stats::Precision;
use datafusion::common::{ColumnStatistics, DFSchema, ScalarValue, Statistics};
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::parquet::CachedParquetFileReaderFactory;
use datafusion::datasource::physical_plan::{
    FileGroup, FileScanConfig, FileScanConfigBuilder, ParquetSource,
};
use datafusion::error::Result;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::Expr;
use datafusion::object_store::path::Path;
use datafusion::object_store::ObjectMeta;
use datafusion::physical_expr::conjunction_opt;
use datafusion::physical_optimizer::pruning::PruningPredicateBuilder;
use url::Url;

/// A table version's data files, with what the log says of each.
#[derive(Debug)]
pub(crate) struct TableFiles {
    store: ObjectStoreUrl,
    files: Vec<(ObjectMeta, Arc<Statistics>)>,
}

impl TableFiles {
    /// The files of `add_actions` (delta-rs's flattened add-actions table) of the table at
    /// `table_url` whose columns are `schema`'s; `None` when an action cannot be read.
    /// Statistics: each file's exact row count and, for fixed-width columns, its min, max
    /// and null count (the log may cut a string's bounds short, so those are left unknown).
    pub(crate) fn from_log(
        add_actions: &RecordBatch,
        table_url: &Url,
        schema: &Schema,
    ) -> Option<Self> {
        let column = |name: &str| add_actions.column_by_name(name);
        let paths = datafusion::arrow::compute::cast(
            column("path")?,
            &datafusion::arrow::datatypes::DataType::Utf8,
        )
        .ok()?;
        let paths = paths.as_string_opt::<i32>()?;
        let sizes = column("size_bytes")?.as_primitive_opt::<Int64Type>()?;
        let rows = column("num_records").and_then(|c| c.as_primitive_opt::<Int64Type>());
        let mut store = None;
        let mut files = Vec::with_capacity(paths.len());
        for i in 0..paths.len() {
            if paths.is_null(i) || sizes.is_null(i) {
                return None;
            }
            let url = table_url.join(paths.value(i)).ok()?;
            let file_store = ObjectStoreUrl::parse(&url[..url::Position::BeforePath]).ok()?;
            if store.get_or_insert_with(|| file_store.clone()) != &file_store {
                return None;
            }
            let meta = ObjectMeta {
                location: Path::from_url_path(url.path()).ok()?,
                size: u64::try_from(sizes.value(i)).ok()?,
                // As delta-rs sets it: the log's time is not the file system's.
                last_modified: Utc.timestamp_nanos(0),
                e_tag: None,
                version: None,
            };
            let num_rows = match rows {
                Some(rows) if rows.is_valid(i) && rows.value(i) >= 0 => {
                    Precision::Exact(rows.value(i) as usize)
                }
                _ => Precision::Absent,
            };
            let column_statistics = schema
                .fields()
                .iter()
                .map(|field| file_column(add_actions, i, field))
                .collect();
            let stats = Statistics {
                num_rows,
                total_byte_size: Precision::Absent,
                column_statistics,
            };
            files.push((meta, Arc::new(stats)));
        }
        Some(Self {
            store: store.unwrap_or_else(ObjectStoreUrl::local_filesystem),
            files,
        })
    }
}

/// File `row`'s statistics of `field` from the add actions.
fn file_column(
    add_actions: &RecordBatch,
    row: usize,
    field: &datafusion::arrow::datatypes::Field,
) -> ColumnStatistics {
    let mut stats = ColumnStatistics::new_unknown();
    if field.data_type().primitive_width().is_none() {
        return stats;
    }
    let name = field.name();
    let value = |prefix: &str| {
        let array = add_actions.column_by_name(&format!("{prefix}.{name}"))?;
        let value = ScalarValue::try_from_array(array, row).ok()?;
        if value.is_null() {
            return None;
        }
        value.cast_to(field.data_type()).ok()
    };
    if let Some(min) = value("min") {
        stats.min_value = Precision::Inexact(min);
    }
    if let Some(max) = value("max") {
        stats.max_value = Precision::Inexact(max);
    }
    let nulls = add_actions
        .column_by_name(&format!("null_count.{name}"))
        .and_then(|array| array.as_primitive_opt::<Int64Type>())
        .filter(|array| array.is_valid(row));
    if let Some(nulls) = nulls {
        stats.null_count = Precision::Inexact(nulls.value(row).max(0) as usize);
    }
    stats
}

/// The Parquet scan config of `table`'s columns `projection` of `schema` (the table
/// provider's), with the files that `filters` may match and readers that keep page indexes
/// (page_index.rs): its rows are the table's, and the filters stay above it (the table
/// answers them `Inexact`). The scan reads every column as nullable; `PlainScanExec`
/// stamps the table's nullability.
pub(crate) fn scan(
    state: &dyn Session,
    table: &TableFiles,
    schema: &SchemaRef,
    projection: Option<&Vec<usize>>,
    filters: &[Expr],
    limit: Option<usize>,
) -> Result<FileScanConfig> {
    let read_schema = Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect::<Vec<_>>(),
    ));
    // Each filter the scan can evaluate prunes; FilterExec applies them all above it.
    let df_schema = DFSchema::try_from(Arc::clone(&read_schema))?;
    let conjuncts: Vec<_> = filters
        .iter()
        .filter_map(|expr| state.create_physical_expr(expr.clone(), &df_schema).ok())
        .collect();
    let predicate = conjunction_opt(conjuncts);
    let keep = match &predicate {
        Some(predicate) => pruned(predicate, &read_schema, table),
        None => None,
    };
    let files: Vec<PartitionedFile> = table
        .files
        .iter()
        .enumerate()
        .filter(|(i, _)| keep.as_ref().is_none_or(|keep| keep[*i]))
        .map(|(_, (meta, stats))| {
            PartitionedFile::from(meta.clone()).with_statistics(Arc::clone(stats))
        })
        .collect();
    let store = state.runtime_env().object_store(&table.store)?;
    let metadata_cache = state.runtime_env().cache_manager.get_file_metadata_cache();
    let mut source = ParquetSource::new(Arc::clone(&read_schema))
        .with_table_parquet_options(state.table_options().parquet.clone())
        .with_parquet_file_reader_factory(crate::page_index::page_index_readers(Arc::new(
            CachedParquetFileReaderFactory::new(store, metadata_cache),
        )));
    if let Some(predicate) = predicate {
        source = source.with_predicate(predicate);
    }
    // What the files' own statistics add up to; scan_stats.rs fills in the table's where
    // they say nothing.
    let statistics = Statistics::try_merge_iter(
        files.iter().filter_map(|f| f.statistics.as_deref()),
        &read_schema,
    )?;
    Ok(
        FileScanConfigBuilder::new(table.store.clone(), Arc::new(source))
            .with_statistics(statistics)
            .with_file_groups(vec![FileGroup::new(files)])
            .with_projection_indices(projection.cloned())?
            .with_limit(limit)
            .build(),
    )
}

/// Per file, whether `predicate` may hold in it; `None` (keep all) when its statistics
/// cannot say.
fn pruned(
    predicate: &Arc<dyn datafusion::physical_expr::PhysicalExpr>,
    schema: &SchemaRef,
    table: &TableFiles,
) -> Option<Vec<bool>> {
    let pruning = PruningPredicateBuilder::new()
        .with_file_schema(Arc::clone(schema))
        .try_build(Arc::clone(predicate))
        .ok()?;
    if pruning.always_true() {
        return None;
    }
    let stats = PrunableStatistics::new(
        table
            .files
            .iter()
            .map(|(_, stats)| Arc::new(as_bounds(stats, schema)))
            .collect(),
        Arc::clone(schema),
    );
    pruning.prune(&stats).ok()
}

/// `stats` as the bounds pruning takes (it reads exact statistics only), for the columns
/// whose bounds in the log are the values' own: integers, dates, decimals, booleans. The
/// log keeps timestamps to the millisecond, so a max may lie below the file's; a float's
/// bounds leave out its NaNs, which compare above every number.
fn as_bounds(stats: &Statistics, schema: &Schema) -> Statistics {
    use datafusion::arrow::datatypes::DataType;
    let mut exact = stats.clone();
    for (column, field) in exact.column_statistics.iter_mut().zip(schema.fields()) {
        let t = field.data_type();
        let bounded = t.is_integer()
            || t.is_decimal()
            || matches!(t, DataType::Date32 | DataType::Date64 | DataType::Boolean);
        if !bounded {
            *column = ColumnStatistics::new_unknown();
            continue;
        }
        column.min_value = exact_of(&column.min_value);
        column.max_value = exact_of(&column.max_value);
        column.null_count = exact_of(&column.null_count);
    }
    exact
}

/// `value` as an exact one, whichever it was.
fn exact_of<T: Clone + std::fmt::Debug + PartialEq + Eq + PartialOrd>(
    value: &Precision<T>,
) -> Precision<T> {
    value
        .get_value()
        .map_or(Precision::Absent, |v| Precision::Exact(v.clone()))
}

#[cfg(test)]
mod tests {
    use crate::test_util::{query_text, session_after};

    /// Files whose statistics rule a filter out are not in the plan, and the answers are
    /// those of every row; the scan follows the table through a delete to its new files.
    #[tokio::test]
    async fn a_scan_lists_only_the_files_a_filter_may_match() {
        let statements = [
            "CREATE TABLE t AS SELECT value AS k, value % 7 AS v FROM range(0, 1000)",
            "INSERT INTO t SELECT value, value % 7 FROM range(1000, 2000)",
            "INSERT INTO t SELECT value, value % 7 FROM range(2000, 3000)",
        ];
        let (_dir, _db, session) = session_after(&statements).await;
        let files = |plan: &str| plan.matches(".parquet").count();
        let all = query_text(&session, "EXPLAIN SELECT sum(v) FROM t WHERE v > 2").await;
        assert_eq!(files(&all), 3, "{all}");
        let one = query_text(&session, "EXPLAIN SELECT sum(v) FROM t WHERE k >= 2500").await;
        assert_eq!(files(&one), 1, "{one}");
        // Built here, not by delta-rs, whose scans add a file-id column.
        assert!(!one.contains("file_id"), "{one}");
        let sum = |sql: &'static str| {
            let session = &session;
            async move { query_text(session, sql).await }
        };
        let expected: i64 = (2500..3000).map(|k: i64| k % 7).sum();
        let answer = sum("SELECT sum(v) AS s FROM t WHERE k >= 2500").await;
        assert!(answer.contains(&format!("| {expected} ")), "{answer}");
        // A delete rewrites the third file: the next scan reads the version after it.
        session
            .execute_one("DELETE FROM t WHERE k >= 2500 AND v = 0")
            .await
            .unwrap();
        let expected: i64 = (2500..3000).filter(|k| k % 7 != 0).count() as i64;
        let answer = sum("SELECT count(*) AS n FROM t WHERE k >= 2500").await;
        assert!(answer.contains(&format!("| {expected} ")), "{answer}");
        let answer = sum("SELECT count(*) AS n FROM t").await;
        let expected = 3000 - (2500..3000).filter(|k| k % 7 == 0).count();
        assert!(answer.contains(&format!("| {expected} ")), "{answer}");
    }

    /// A table dropped and created again under its name, with the same columns, restarts at
    /// version 0: its scans read its own files, not the file list of the table before.
    #[tokio::test]
    async fn a_table_created_again_is_read_from_its_own_files() {
        let (_dir, _db, session) =
            session_after(&["CREATE TABLE t AS SELECT value AS k FROM range(0, 10)"]).await;
        let sum = "SELECT sum(k) AS s FROM t";
        assert!(query_text(&session, sum).await.contains("| 45 "));
        session.execute_one("DROP TABLE t").await.unwrap();
        session
            .execute_one("CREATE TABLE t AS SELECT value AS k FROM range(100, 110)")
            .await
            .unwrap();
        let answer = query_text(&session, sum).await;
        assert!(answer.contains("| 1045 "), "{answer}");
    }
}
