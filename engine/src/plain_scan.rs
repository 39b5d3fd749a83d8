//! Delta scans of plain tables without delta-rs's per-file batch handling.
//!
//! delta-rs 1.1's `DeltaScanExec` reads a table through a Parquet scan that adds a file-id
//! column, then splits every batch into runs of one file by a per-row loop, applies that
//! file's transform, drops the column and restamps the table's schema: ~5 % of TPC-H q6's
//! CPU (BENCHMARKS.md, change 17). A table with none of the features those steps serve
//! (deletion vectors, column mapping, partition columns, type widening: reader version 1,
//! no partition columns) only needs the file-id column dropped and the table's nullability
//! stamped, which `PlainScanExec` does in O(columns) per batch. delta-rs has no switch for
//! this, hence our own node; anything else keeps delta-rs's. A plain table's scan is now
//! built by table_files.rs, without the file-id column, and `PlainScanExec` only stamps it.

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{internal_err, Statistics};
use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::Result;
use datafusion::execution::TaskContext;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr::{
    EquivalenceProperties, LexOrdering, PhysicalExpr, PhysicalSortExpr,
};
use datafusion::physical_plan::execution_plan::CardinalityEffect;
use datafusion::physical_plan::filter_pushdown::{FilterDescription, FilterPushdownPhase};
use datafusion::physical_plan::metrics::{BaselineMetrics, ExecutionPlanMetricsSet, MetricsSet};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    ChildStats, DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties,
    SendableRecordBatchStream, StatisticsArgs,
};
use deltalake::delta_datafusion::DeltaScanExec;
use futures::StreamExt;

/// Whether a table version's files hold exactly its columns, so that its scans may skip
/// delta-rs's per-file handling: reader version 1 rules out deletion vectors, column mapping
/// and type widening, and there are no partition values to add.
pub(crate) fn is_plain(delta: &deltalake::DeltaTable) -> bool {
    delta.snapshot().is_ok_and(|snapshot| {
        snapshot.protocol().min_reader_version() == 1
            && snapshot.metadata().partition_columns().is_empty()
    })
}

/// `plan` with a `DeltaScanExec` at its root replaced by a `PlainScanExec` over the same
/// Parquet scan, when that scan yields the table's columns in order plus one partition
/// column (the file id) last; otherwise `plan` as it is. `key_order`: the table's files
/// each ascend by its first column (sort_order.rs).
pub(crate) fn replace(
    plan: Arc<dyn ExecutionPlan>,
    key_order: Option<Arc<KeyOrder>>,
) -> Arc<dyn ExecutionPlan> {
    if plan.downcast_ref::<DeltaScanExec>().is_none() {
        return plan;
    }
    let [input] = plan.children()[..] else {
        return plan;
    };
    let Some(config) = input
        .downcast_ref::<DataSourceExec>()
        .and_then(|s| s.data_source().downcast_ref::<FileScanConfig>())
    else {
        return plan;
    };
    let (out, read) = (plan.schema(), input.schema());
    let Some((file_id, columns)) = read.fields().split_last() else {
        return plan;
    };
    let matches = columns.len() == out.fields().len()
        && columns.iter().zip(out.fields()).all(|(r, o)| {
            // The scan reads with relaxed nullability; the table's is stamped per batch.
            r.name() == o.name()
                && r.data_type() == o.data_type()
                && (r.is_nullable() || !o.is_nullable())
        })
        && config
            .table_partition_cols()
            .iter()
            .any(|c| c.name() == file_id.name());
    if !matches {
        return plan;
    }
    Arc::new(PlainScanExec::new(Arc::clone(input), out).keyed(key_order))
}

/// The table's columns of its Parquet scan: drops the trailing file-id column and stamps
/// the table's schema, which checks that non-nullable columns hold no nulls.
#[derive(Debug)]
pub(crate) struct PlainScanExec {
    input: Arc<dyn ExecutionPlan>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
    metrics: ExecutionPlanMetricsSet,
    /// The table's files each ascend by this column (its first): what key_ranges.rs needs
    /// to deal them into key ranges later in planning.
    key_order: Option<Arc<KeyOrder>>,
    /// Per partition, the keys it keeps (sorted_scan.rs's `ranges`, when a cut falls
    /// between two files that share their boundary key).
    windows: Option<Arc<[KeyWindow]>>,
}

/// The rows a partition of a key-ranged scan keeps, by its first column (an integer key,
/// ascending through the partition): keys above `after`, up to and including `through`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct KeyWindow {
    pub after: Option<i64>,
    pub through: Option<i64>,
}

/// A table's key, by which every file of the scanned version ascends, and the files' bounds.
#[derive(Debug)]
pub(crate) struct KeyOrder {
    pub column: String,
    pub stats: Arc<crate::scan_stats::TableStats>,
}

impl PlainScanExec {
    /// The Parquet scan's orderings pass on (it declares one only for a table known to be
    /// in order, sorted_scan.rs), not its other equivalences; `maintains_input_order` stays
    /// false, so a sort is never pushed below this node.
    pub(crate) fn new(input: Arc<dyn ExecutionPlan>, schema: SchemaRef) -> Self {
        let from = input.properties();
        let columns = schema.fields().len();
        // Orderings of our columns only (not the file id after them), which keep their
        // indices here.
        let orderings = from
            .eq_properties
            .oeq_class()
            .iter()
            .filter_map(|ordering| {
                let exprs = ordering.iter().map(|sort| {
                    let column = sort.expr.downcast_ref::<Column>()?;
                    (column.index() < columns).then(|| {
                        PhysicalSortExpr::new(
                            Arc::new(Column::new(column.name(), column.index())),
                            sort.options,
                        )
                    })
                });
                LexOrdering::new(exprs.collect::<Option<Vec<_>>>()?)
            });
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new_with_orderings(Arc::clone(&schema), orderings),
            from.partitioning.clone(),
            from.emission_type,
            from.boundedness,
        ));
        Self {
            input,
            schema,
            properties,
            metrics: ExecutionPlanMetricsSet::new(),
            key_order: None,
            windows: None,
        }
    }

    pub(crate) fn input(&self) -> &Arc<dyn ExecutionPlan> {
        &self.input
    }

    pub(crate) fn key_order(&self) -> Option<&Arc<KeyOrder>> {
        self.key_order.as_ref()
    }

    /// This scan over another Parquet scan of the same table, keeping its key order.
    pub(crate) fn with_input(&self, input: Arc<dyn ExecutionPlan>) -> Self {
        let mut scan = Self::new(input, Arc::clone(&self.schema)).keyed(self.key_order.clone());
        scan.windows = self.windows.clone();
        scan
    }

    /// This scan keeping, in each partition, only the keys of its window.
    pub(crate) fn windowed(mut self, windows: Option<Vec<KeyWindow>>) -> Self {
        self.windows = windows.map(Into::into);
        self
    }

    pub(crate) fn keyed(mut self, key_order: Option<Arc<KeyOrder>>) -> Self {
        self.key_order = key_order;
        self
    }
}

/// The rows of `batch` inside `window` by its first column, as `start..end`, and whether
/// the batch reaches past the window (a key above `through`).
fn window_rows(batch: &RecordBatch, window: KeyWindow) -> Result<(usize, usize, bool)> {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::{Int32Type, Int64Type};
    let column = batch.column(0);
    match column.data_type() {
        DataType::Int64 => Ok(window_of(
            column.as_primitive::<Int64Type>().values(),
            window,
        )),
        DataType::Int32 => Ok(window_of(
            column.as_primitive::<Int32Type>().values(),
            window,
        )),
        other => internal_err!("a key window over a {other} column"),
    }
}

/// `window_rows` over ascending `keys`.
fn window_of<T: Copy + Into<i64>>(keys: &[T], window: KeyWindow) -> (usize, usize, bool) {
    let first_above = |k: i64| keys.partition_point(|&x| x.into() <= k);
    let start = window.after.map_or(0, first_above);
    let end = window.through.map_or(keys.len(), first_above);
    (start, end.max(start), end < keys.len())
}

impl DisplayAs for PlainScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "PlainScanExec")?;
        if let Some(windows) = &self.windows {
            let shown: Vec<String> = windows
                .iter()
                .map(|w| {
                    let bound = |b: Option<i64>| b.map_or(String::new(), |k| k.to_string());
                    format!("({}, {}]", bound(w.after), bound(w.through))
                })
                .collect();
            write!(f, ": key_windows=[{}]", shown.join(", "))?;
        }
        Ok(())
    }
}

impl ExecutionPlan for PlainScanExec {
    fn name(&self) -> &str {
        "PlainScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(Arc::new(self.with_input(children.swap_remove(0))))
    }

    /// A windowed scan's partitions are its key runs, window `i` for the files of run `i`:
    /// a round-robin under it would hand window `i` rows of other runs.
    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![self.windows.is_none()]
    }

    /// Split the files across more partitions, as the Parquet scan does on its own.
    fn repartitioned(
        &self,
        target_partitions: usize,
        config: &ConfigOptions,
    ) -> Result<Option<Arc<dyn ExecutionPlan>>> {
        if self.windows.is_some() {
            return Ok(None);
        }
        Ok(self
            .input
            .repartitioned(target_partitions, config)?
            .map(|input| Arc::new(self.with_input(input)) as _))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        if let Some(windows) = &self.windows {
            let runs = self.input.properties().partitioning.partition_count();
            if runs != windows.len() {
                return internal_err!(
                    "{} key windows over a scan of {runs} partitions",
                    windows.len()
                );
            }
        }
        let input = self.input.execute(partition, context)?;
        let schema = Arc::clone(&self.schema);
        let metrics = BaselineMetrics::new(&self.metrics, partition);
        let window = self
            .windows
            .as_ref()
            .map(|w| w.get(partition).copied().unwrap_or_default())
            .filter(|w| *w != KeyWindow::default());
        // `done`: past the window; keys ascend through the partition, so nothing after it
        // is kept and the scan stops reading.
        let stream = input.scan(false, move |done, batch| {
            if *done {
                return futures::future::ready(None);
            }
            let out = batch.and_then(|batch| {
                let _timer = metrics.elapsed_compute().timer();
                // Delta's scan adds a file-id column after the table's; ours does not.
                let mut columns = batch.columns().to_vec();
                columns.truncate(schema.fields().len());
                let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
                let mut out =
                    RecordBatch::try_new_with_options(Arc::clone(&schema), columns, &options)?;
                if let Some(window) = window {
                    let (start, end, past) = window_rows(&out, window)?;
                    out = out.slice(start, end - start);
                    *done = past;
                }
                metrics.record_output(out.num_rows());
                Ok(out)
            });
            futures::future::ready(Some(out))
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            stream,
        )))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }

    fn child_stats_requests(&self, partition: Option<usize>) -> Vec<ChildStats> {
        vec![ChildStats::At(partition)]
    }

    /// The scan's, less the file-id column's.
    fn statistics_from_inputs(
        &self,
        input_stats: &[Arc<Statistics>],
        _args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        let Some(stats) = input_stats.first() else {
            return Ok(Arc::new(Statistics::new_unknown(&self.schema)));
        };
        let mut stats = Statistics::clone(stats);
        stats.column_statistics.truncate(self.schema.fields().len());
        if self.windows.is_some() {
            // A file at a shared boundary key is read by two partitions, each keeping part.
            stats = stats.to_inexact();
        }
        Ok(Arc::new(stats))
    }

    fn supports_limit_pushdown(&self) -> bool {
        self.input.supports_limit_pushdown()
    }

    fn cardinality_effect(&self) -> CardinalityEffect {
        CardinalityEffect::Equal
    }

    fn fetch(&self) -> Option<usize> {
        self.input.fetch()
    }

    fn with_fetch(&self, limit: Option<usize>) -> Option<Arc<dyn ExecutionPlan>> {
        if self.windows.is_some() {
            return None;
        }
        let input = self.input.with_fetch(limit)?;
        Some(Arc::new(self.with_input(input)))
    }

    /// Filters pass to the Parquet scan unchanged: its columns are ours, at the same
    /// indices, with the file id after them.
    fn gather_filters_for_pushdown(
        &self,
        _phase: FilterPushdownPhase,
        parent_filters: Vec<Arc<dyn PhysicalExpr>>,
        _config: &ConfigOptions,
    ) -> Result<FilterDescription> {
        FilterDescription::from_children(parent_filters, &self.children())
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn plain_tables_are_read_without_the_delta_stream_and_answer_the_same() {
        let (_dir, db) = crate::test_util::database();
        let session = db.session();
        for sql in [
            "CREATE TABLE t (k BIGINT NOT NULL, s VARCHAR, v DOUBLE)",
            "INSERT INTO t VALUES (1, 'a', 0.5), (2, NULL, 1.5), (3, 'c', NULL)",
            "INSERT INTO t VALUES (4, 'd', 2.5)",
        ] {
            session.execute_one(sql).await.unwrap();
        }
        let session = &session;
        let text =
            move |sql: String| async move { crate::test_util::query_text(session, &sql).await };
        let sql = "SELECT k, s, v FROM t WHERE k > 1 ORDER BY k";
        let plan = text(format!("EXPLAIN {sql}")).await;
        assert!(plan.contains("PlainScanExec"), "{plan}");
        assert!(!plan.contains("DeltaScanExec"), "{plan}");
        let answer = text(sql.into()).await;
        for row in ["| 2 |   | 1.5 |", "| 3 | c |     |", "| 4 | d | 2.5 |"] {
            assert!(answer.contains(row), "{answer}");
        }
        assert!(!answer.contains("| 1 |"), "{answer}");
        // The table's NOT NULL survives into the plan: an aggregate over the scan checks it.
        let counted = text("SELECT count(k), count(s), count(*) FROM t".into()).await;
        assert!(
            counted.contains("| 4 ") && counted.contains("| 3 "),
            "{counted}"
        );
        // The scan's statistics (4 rows, the key's bounds) pass through the node.
        session
            .execute_one("SET datafusion.explain.show_statistics = true")
            .await
            .unwrap();
        let stats = text("EXPLAIN SELECT k FROM t".into()).await;
        let line = stats
            .lines()
            .find(|l| l.contains("PlainScanExec"))
            .unwrap_or_default();
        assert!(line.contains("Rows=Exact(4)"), "{stats}");
        assert!(
            line.contains("Min=Exact(Int64(1))") || line.contains("Min=Inexact(Int64(1))"),
            "{stats}"
        );
        // An older version reads the same way.
        let old = text("SELECT count(*) FROM \"t@v1\"".into()).await;
        assert!(old.contains("| 3 "), "{old}");
    }
}
