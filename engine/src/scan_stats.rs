//! Column statistics for Delta scans. delta-rs 1.1 hands DataFusion per-column min/max only
//! for columns the query filters on (delta-rs #4522), so joins were ordered on row counts
//! alone: TPC-H q18 built its semi-join hash table on 6M rows instead of 60. The Delta log
//! holds min, max and null counts for every column of every file; this puts them into the
//! Parquet scan under `DeltaScanExec` (or `PlainScanExec`), which pass their child's
//! statistics through.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use parking_lot::Mutex;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{Int64Type, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::stats::Precision;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{ColumnStatistics, ScalarValue, Statistics};
use datafusion::datasource::physical_plan::{FileScanConfig, FileScanConfigBuilder};
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::Result;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_plan::ExecutionPlan;

/// What the Delta log tells of a table version: its row count and per-column bounds.
#[derive(Debug, Default)]
pub(crate) struct TableStats {
    /// Sum of the files' `numRecords`; `None` when a file lacks it.
    pub rows: Option<usize>,
    pub columns: HashMap<String, ColumnStatistics>,
    /// Each file's (by its path in the log) min and max of the table's first column, when
    /// every file has them and no nulls there: what a scan in that column's order needs
    /// (sorted_scan.rs).
    pub first_column_bounds: Option<HashMap<String, (ScalarValue, ScalarValue)>>,
    /// A small table's string columns' distinct values, counted once (distinct_counts.rs).
    pub distinct: std::sync::OnceLock<HashMap<String, usize>>,
    /// The version's files, which a plain table's scans are built from (table_files.rs).
    pub files: Option<crate::table_files::TableFiles>,
}

/// A table version's statistics never change, and every query (and every pg_attribute
/// walk) opens its tables again: computed once per table version, process-wide.
/// The key is the table's URL, its Delta table id, version and schema: a table dropped and
/// created again under its name restarts at version 0, and its scans must not read the old
/// table's file list (table_files.rs); the new table has a new id.
static BY_VERSION: LazyLock<Mutex<HashMap<VersionKey, Arc<TableStats>>>> =
    LazyLock::new(Default::default);

/// Table URL and id, version, schema.
type VersionKey = (String, u64, String);

/// The column statistics of `delta`'s loaded version; empty without a snapshot (then the
/// scan is served as delta-rs plans it).
pub(crate) fn table_stats(delta: &deltalake::DeltaTable) -> Arc<TableStats> {
    let Some(version) = delta.version() else {
        return Arc::default();
    };
    let Ok(snapshot) = delta.snapshot() else {
        return Arc::default();
    };
    let key = (
        format!("{} {}", delta.table_url(), snapshot.metadata().id()),
        version,
        format!("{:?}", snapshot.schema()),
    );
    if let Some(stats) = BY_VERSION.lock().get(&key) {
        return stats.clone();
    }
    let stats: Arc<TableStats> = Arc::new(
        snapshot
            .add_actions_table(true)
            .map(|actions| TableStats {
                rows: row_count(&actions),
                columns: column_stats(&actions),
                first_column_bounds: snapshot
                    .schema()
                    .fields()
                    .next()
                    .and_then(|f| file_bounds(&actions, f.name())),
                distinct: Default::default(),
                files: abacus_catalog::arrow_columns(delta).and_then(|schema| {
                    crate::table_files::TableFiles::from_log(&actions, delta.table_url(), &schema)
                }),
            })
            .unwrap_or_default(),
    );
    let mut cache = BY_VERSION.lock();
    // Old versions are rarely read again; a bound keeps a long-lived server small.
    if cache.len() >= 1024 {
        cache.clear();
    }
    cache.insert(key, stats.clone());
    stats
}

/// The table's row count: the sum of its files' `numRecords`.
fn row_count(add_actions: &RecordBatch) -> Option<usize> {
    let counts = add_actions
        .column_by_name("num_records")?
        .as_primitive_opt::<Int64Type>()?;
    (counts.null_count() == 0).then(|| counts.values().iter().map(|&n| n.max(0) as usize).sum())
}

/// Per file path, `column`'s min and max; `None` unless every file has both and no nulls.
fn file_bounds(
    add_actions: &RecordBatch,
    column: &str,
) -> Option<HashMap<String, (ScalarValue, ScalarValue)>> {
    let paths = datafusion::arrow::compute::cast(
        add_actions.column_by_name("path")?,
        &datafusion::arrow::datatypes::DataType::Utf8,
    )
    .ok()?;
    let paths = paths.as_string_opt::<i32>()?;
    let mins = add_actions.column_by_name(&format!("min.{column}"))?;
    let maxs = add_actions.column_by_name(&format!("max.{column}"))?;
    let nulls = add_actions
        .column_by_name(&format!("null_count.{column}"))?
        .as_primitive_opt::<Int64Type>()?;
    let mut out = HashMap::with_capacity(paths.len());
    for row in 0..paths.len() {
        if paths.is_null(row) || mins.is_null(row) || maxs.is_null(row) || nulls.is_null(row) {
            return None;
        }
        if nulls.value(row) != 0 {
            return None;
        }
        let min = ScalarValue::try_from_array(mins, row).ok()?;
        let max = ScalarValue::try_from_array(maxs, row).ok()?;
        out.insert(paths.value(row).to_string(), (min, max));
    }
    Some(out)
}

/// Table-wide min, max and null count of each column, from the add actions' statistics.
pub(crate) fn column_stats(add_actions: &RecordBatch) -> HashMap<String, ColumnStatistics> {
    let mut out = HashMap::new();
    let schema = add_actions.schema();
    for field in schema.fields() {
        let Some(column) = field.name().strip_prefix("min.") else {
            continue;
        };
        let (Ok(mins), Ok(maxs)) = (
            schema.index_of(&format!("min.{column}")),
            schema.index_of(&format!("max.{column}")),
        ) else {
            continue;
        };
        let bound = |index: usize, want_min: bool| -> Precision<ScalarValue> {
            let array = add_actions.column(index);
            let mut best: Option<ScalarValue> = None;
            for row in 0..array.len() {
                // A file without the statistic leaves the table's bound unknown.
                if array.is_null(row) {
                    return Precision::Absent;
                }
                let Ok(value) = ScalarValue::try_from_array(array, row) else {
                    return Precision::Absent;
                };
                best = match best {
                    None => Some(value),
                    Some(b) => match value.partial_cmp(&b) {
                        Some(std::cmp::Ordering::Less) if want_min => Some(value),
                        Some(std::cmp::Ordering::Greater) if !want_min => Some(value),
                        Some(_) => Some(b),
                        None => return Precision::Absent,
                    },
                };
            }
            // Bounds, not the values present after deletes: inexact.
            best.map(Precision::Inexact).unwrap_or(Precision::Absent)
        };
        let null_count = schema
            .index_of(&format!("null_count.{column}"))
            .ok()
            .and_then(|i| {
                add_actions
                    .column(i)
                    .as_primitive_opt::<Int64Type>()
                    .cloned()
            })
            .and_then(|counts| {
                (counts.null_count() == 0)
                    .then(|| counts.values().iter().map(|&n| n.max(0) as usize).sum())
            })
            .map(Precision::Inexact)
            .unwrap_or(Precision::Absent);
        out.insert(
            column.to_string(),
            ColumnStatistics {
                null_count,
                min_value: bound(mins, true),
                max_value: bound(maxs, false),
                ..ColumnStatistics::new_unknown()
            },
        );
    }
    out
}

/// A Delta table provider whose scans carry `stats` for every column.
#[derive(Debug)]
pub(crate) struct WithColumnStats {
    pub inner: Arc<dyn TableProvider>,
    pub stats: Arc<TableStats>,
    /// The table's scans may skip delta-rs's per-file handling (`plain_scan::is_plain`).
    pub plain: bool,
    /// The column all the version's files ascend by (abacus-catalog's sort order record).
    pub sorted_by: Option<String>,
}

#[async_trait]
impl TableProvider for WithColumnStats {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        self.inner.table_type()
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        if self.own_scan().is_some() {
            // The scan prunes files and row groups by them; FilterExec applies them.
            return Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()]);
        }
        self.inner.supports_filters_pushdown(filters)
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let key_order = self.sorted_by.as_ref().map(|column| {
            Arc::new(crate::plain_scan::KeyOrder {
                column: column.clone(),
                stats: Arc::clone(&self.stats),
            })
        });
        let plan = if let Some(files) = self.own_scan() {
            let schema = self.inner.schema();
            let out = match projection {
                Some(columns) => Arc::new(schema.project(columns)?),
                None => Arc::clone(&schema),
            };
            let config =
                crate::table_files::scan(state, files, &schema, projection, filters, limit)?;
            // Built with page-index readers already: only the table's statistics to add.
            let config = match self.filled_statistics(&config) {
                Some(statistics) => FileScanConfigBuilder::from(config)
                    .with_statistics(statistics)
                    .build(),
                None => config,
            };
            let plan = DataSourceExec::from_data_source(config);
            Arc::new(crate::plain_scan::PlainScanExec::new(plan, out).keyed(key_order)) as _
        } else {
            let plan = self.inner.scan(state, projection, filters, limit).await?;
            let plan = self.tuned(plan)?;
            if !self.plain {
                return Ok(plan);
            }
            crate::plain_scan::replace(plan, key_order)
        };
        Ok(match &self.sorted_by {
            Some(column) => crate::sorted_scan::declare(
                plan,
                column,
                &self.stats,
                state.config().target_partitions(),
            ),
            None => plan,
        })
    }
}

impl WithColumnStats {
    /// The files a plain table's scan is built from by Abacus itself.
    fn own_scan(&self) -> Option<&crate::table_files::TableFiles> {
        self.plain.then_some(self.stats.files.as_ref()).flatten()
    }

    /// `plan` with its Parquet scan rebuilt once: the table's column statistics in it, and
    /// readers that keep page indexes in the cache (page_index.rs).
    fn tuned(&self, plan: Arc<dyn ExecutionPlan>) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let Some(config) = node
                .downcast_ref::<DataSourceExec>()
                .and_then(|s| s.data_source().downcast_ref::<FileScanConfig>())
            else {
                return Ok(Transformed::no(node));
            };
            let source = crate::page_index::caching_source(config);
            let statistics = self.filled_statistics(config);
            if source.is_none() && statistics.is_none() {
                return Ok(Transformed::no(node));
            }
            let mut config = FileScanConfigBuilder::from(config.clone());
            if let Some(source) = source {
                config = config.with_source(source);
            }
            if let Some(statistics) = statistics {
                config = config.with_statistics(statistics);
            }
            Ok(Transformed::yes(
                DataSourceExec::from_data_source(config.build()) as Arc<dyn ExecutionPlan>,
            ))
        })
        .map(|t| t.data)
    }

    /// The scan's statistics with what the table knows filled in; `None` when that adds
    /// nothing.
    fn filled_statistics(&self, config: &FileScanConfig) -> Option<Statistics> {
        if self.stats.columns.is_empty() {
            return None;
        }
        let mut statistics = config.statistics();
        // The files' total size counts every column; DataFusion keeps it as the size of
        // any projection that holds a variable-width column (the Delta scan always adds
        // one, its file id), so a scan of one key column of customer looked larger than
        // orders' filtered rows and q13 built its hash table from 15M orders instead of
        // 1.5M customers. Without it, joins compare row counts; a projection of
        // fixed-width columns still gets its exact size from DataFusion.
        let mut filled = !matches!(statistics.total_byte_size, Precision::Absent);
        statistics.total_byte_size = Precision::Absent;
        for (i, field) in config.file_schema().fields().iter().enumerate() {
            let (Some(known), Some(column)) = (
                self.stats.columns.get(field.name()),
                statistics.column_statistics.get_mut(i),
            ) else {
                continue;
            };
            if matches!(column.min_value, Precision::Absent) {
                column.min_value = known.min_value.clone();
                filled = true;
            }
            if matches!(column.max_value, Precision::Absent) {
                column.max_value = known.max_value.clone();
                filled = true;
            }
            if matches!(column.null_count, Precision::Absent) {
                column.null_count = known.null_count;
                filled = true;
            }
            let counted = self.stats.distinct.get().and_then(|d| d.get(field.name()));
            if let (Some(&n), Precision::Absent) = (counted, &column.distinct_count) {
                column.distinct_count = Precision::Inexact(n);
                filled = true;
            }
        }
        filled.then_some(statistics)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    #[test]
    fn table_bounds_span_every_file_and_need_every_file() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("null_count.id", DataType::Int64, true),
            Field::new("min.id", DataType::Int64, true),
            Field::new("max.id", DataType::Int64, true),
            Field::new("min.name", DataType::Utf8, true),
            Field::new("max.name", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![0, 2])),
                Arc::new(Int64Array::from(vec![5, 1])),
                Arc::new(Int64Array::from(vec![9, 4])),
                Arc::new(StringArray::from(vec![Some("b"), None])),
                Arc::new(StringArray::from(vec![Some("c"), None])),
            ],
        )
        .unwrap();
        let stats = column_stats(&batch);
        let id = &stats["id"];
        assert_eq!(
            id.min_value,
            Precision::Inexact(ScalarValue::Int64(Some(1)))
        );
        assert_eq!(
            id.max_value,
            Precision::Inexact(ScalarValue::Int64(Some(9)))
        );
        assert_eq!(id.null_count, Precision::Inexact(2));
        // One file without statistics for `name`: its bounds are unknown.
        assert_eq!(stats["name"].min_value, Precision::Absent);
    }

    #[tokio::test]
    async fn a_scan_does_not_claim_the_whole_files_size() {
        let (_dir, db) = crate::test_util::database();
        let session = db.session();
        session
            .execute_one(
                "CREATE TABLE t AS SELECT value AS id, 'note ' || value AS note FROM range(1000)",
            )
            .await
            .unwrap();
        session
            .execute_one("SET datafusion.explain.show_statistics = true")
            .await
            .unwrap();
        let scan = |sql: &'static str| {
            let session = &session;
            async move {
                let plan = crate::test_util::query_text(session, sql).await;
                let scan = plan.lines().find(|l| l.contains("DataSourceExec"));
                scan.expect("a Parquet scan").to_string()
            }
        };
        // One 8-byte column: its own size, which DataFusion knows exactly.
        let id = scan("EXPLAIN SELECT id FROM t").await;
        assert!(id.contains("Rows=Exact(1000), Bytes=Exact(8000)"), "{id}");
        // With a string column: unknown, not the files' size.
        let both = scan("EXPLAIN SELECT id, note FROM t").await;
        assert!(both.contains("Rows=Exact(1000), Bytes=Absent"), "{both}");
    }
}
