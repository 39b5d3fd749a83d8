//! A dynamic filter that measures itself and steps aside when it does not pay.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::TreeNode;
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::ColumnarValue;
use datafusion::physical_expr::expressions::{lit, DynamicFilterPhysicalExpr, Literal};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr_common::physical_expr::snapshot_physical_expr;
use datafusion::physical_plan::joins::HashTableLookupExpr;

use super::build_keys::ProbeKeys;

/// Rows a filter is judged on (across the scan's partitions): eight default batches.
const SAMPLE_ROWS: usize = 8 * 8192;

/// `filter`, until its first `SAMPLE_ROWS` rows show it keeps more than half of them (more
/// than 1 in 10 for a hash-table lookup), or it shows to be a lookup whose dropped rows would
/// skip no join or aggregate; from then on, true. Rows seen before the join has built its
/// filter (which is `true` until then) do not count.
#[derive(Debug)]
pub(super) struct WhileSelective {
    filter: Arc<dyn PhysicalExpr>,
    seen: AtomicUsize,
    kept: AtomicUsize,
    inspected: AtomicBool,
    /// Whether rows it drops skip a join or aggregate, not just a repartition.
    skips_work: bool,
    /// Made by a hash join: complete once the join has built its table, which does not
    /// depend on this scan (a TopK's or an aggregate's filter does, and is never waited for).
    waits: bool,
    /// A hash-table lookup: kept only if it drops 9 rows in 10.
    strict: AtomicBool,
    off: AtomicBool,
    /// The join's build keys as bitmaps: checked instead of the filter once complete.
    probe: Option<ProbeKeys>,
}

impl WhileSelective {
    pub(super) fn new(filter: Arc<dyn PhysicalExpr>, skips_work: bool) -> Self {
        Self {
            filter,
            skips_work,
            waits: false,
            seen: AtomicUsize::new(0),
            kept: AtomicUsize::new(0),
            inspected: AtomicBool::new(false),
            strict: AtomicBool::new(false),
            off: AtomicBool::new(false),
            probe: None,
        }
    }

    /// Checks the probe rows' keys against the join's build keys in bitmaps, once they are
    /// complete: a bit per key, cheap enough to keep like a key set (while it drops half
    /// the rows), even right below its join.
    pub(super) fn with_bitmaps(mut self, probe: ProbeKeys) -> Self {
        self.probe = Some(probe);
        self
    }

    /// Only the join's build keys, for a scan its dynamic filter does not reach
    /// (sideways.rs): until the bitmaps are complete, every row passes.
    pub(super) fn build_keys_only(probe: ProbeKeys) -> Self {
        Self::new(lit(true), true).with_bitmaps(probe)
    }

    /// Its first rows wait until the join has built the filter. A scan can start before the
    /// join does (a `CollectLeft` join's build side is read as soon as the plan starts), and
    /// rows it lets through unfiltered then fill hash tables above it (TPC-H q7).
    pub(super) fn waiting_for_its_join(mut self) -> Self {
        self.waits = true;
        self
    }

    /// Returns once the filter is complete, if it waits for its join.
    pub(super) async fn ready(&self) {
        if !self.waits {
            return;
        }
        if let Some(dynamic) = self.filter.downcast_ref::<DynamicFilterPhysicalExpr>() {
            dynamic.wait_complete().await;
        }
    }

    /// The same filter, not yet judged.
    pub(super) fn fresh(&self) -> Self {
        Self {
            waits: self.waits,
            probe: self.probe.clone(),
            ..Self::new(Arc::clone(&self.filter), self.skips_work)
        }
    }

    /// The join's build keys it checks in bitmaps, if any.
    pub(super) fn probe(&self) -> Option<&ProbeKeys> {
        self.probe.as_ref()
    }

    /// Stepped aside for good: every row passes.
    pub(super) fn is_off(&self) -> bool {
        self.off.load(Ordering::Relaxed)
    }

    /// Whether the built filter looks rows up in the join's hash table.
    fn looks_up_hash_table(&self) -> Result<bool> {
        snapshot_physical_expr(Arc::clone(&self.filter))?
            .exists(|e| Ok(e.downcast_ref::<HashTableLookupExpr>().is_some()))
    }

    fn judge(&self, rows: usize, kept: usize) {
        let seen = self.seen.fetch_add(rows, Ordering::Relaxed) + rows;
        let kept = self.kept.fetch_add(kept, Ordering::Relaxed) + kept;
        let limit = if self.strict.load(Ordering::Relaxed) {
            seen / 10
        } else {
            seen / 2
        };
        if seen >= SAMPLE_ROWS && kept > limit {
            self.off.store(true, Ordering::Relaxed);
        }
    }
}

const ALL: ColumnarValue = ColumnarValue::Scalar(ScalarValue::Boolean(Some(true)));

impl PhysicalExpr for WhileSelective {
    fn data_type(&self, _input_schema: &Schema) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn nullable(&self, input_schema: &Schema) -> Result<bool> {
        self.filter.nullable(input_schema)
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<ColumnarValue> {
        if self.off.load(Ordering::Relaxed) {
            return Ok(ALL);
        }
        if let Some(probe) = &self.probe {
            if let Some(mask) = probe.evaluate(batch)? {
                self.judge(mask.len(), mask.true_count());
                return Ok(ColumnarValue::Array(std::sync::Arc::new(mask)));
            }
        }
        let result = self.filter.evaluate(batch)?;
        if matches!(
            result,
            ColumnarValue::Scalar(ScalarValue::Boolean(Some(true)))
        ) {
            return Ok(result);
        }
        if !self.inspected.swap(true, Ordering::Relaxed) && self.looks_up_hash_table()? {
            // A lookup per row costs what the join's probe does: worth it only if the rows
            // it drops skip more than a repartition, and nearly all rows are dropped.
            self.strict.store(true, Ordering::Relaxed);
            if !self.skips_work {
                self.off.store(true, Ordering::Relaxed);
            }
        }
        match &result {
            ColumnarValue::Scalar(_) => self.judge(batch.num_rows(), 0),
            // true_count skips nulls, which a filter drops too.
            ColumnarValue::Array(mask) => self.judge(mask.len(), mask.as_boolean().true_count()),
        }
        Ok(result)
    }

    fn children(&self) -> Vec<&Arc<dyn PhysicalExpr>> {
        vec![&self.filter]
    }

    /// Without the bitmaps' probe keys, which are bound to the columns the filter had.
    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn PhysicalExpr>>,
    ) -> Result<Arc<dyn PhysicalExpr>> {
        Ok(Arc::new(Self {
            waits: self.waits,
            ..Self::new(children.swap_remove(0), self.skips_work)
        }))
    }

    fn fmt_sql(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.filter.fmt_sql(f)
    }

    fn is_volatile_node(&self) -> bool {
        true
    }
}

impl fmt::Display for WhileSelective {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        // `build_keys_only`'s filter.
        let bitmaps_only = self
            .filter
            .downcast_ref::<Literal>()
            .is_some_and(|l| l.value() == &ScalarValue::Boolean(Some(true)));
        match &self.probe {
            Some(probe) if bitmaps_only => write!(f, "in_build_keys({probe})"),
            _ => write!(f, "while_selective({})", self.filter),
        }
    }
}

impl PartialEq for WhileSelective {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Eq for WhileSelective {}

impl Hash for WhileSelective {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.filter.hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{BooleanArray, Int64Array};
    use datafusion::arrow::datatypes::Field;
    use datafusion::logical_expr::Operator;
    use datafusion::physical_expr::expressions::{col, lit, BinaryExpr};

    fn batch(from: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("k", DataType::Int64, false)]));
        let keys = Int64Array::from_iter_values(from..from + 8192);
        RecordBatch::try_new(schema, vec![Arc::new(keys)]).unwrap()
    }

    /// `k % 100 < percent`: keeps `percent` % of the rows.
    fn keeping(percent: i64) -> WhileSelective {
        let schema = batch(0).schema();
        let k = col("k", &schema).unwrap();
        let rem = Arc::new(BinaryExpr::new(k, Operator::Modulo, lit(100i64)));
        WhileSelective::new(
            Arc::new(BinaryExpr::new(rem, Operator::Lt, lit(percent))),
            true,
        )
    }

    fn kept(filter: &WhileSelective, from: i64) -> usize {
        match filter.evaluate(&batch(from)).unwrap() {
            ColumnarValue::Array(mask) => mask.as_boolean().true_count(),
            ColumnarValue::Scalar(ScalarValue::Boolean(Some(true))) => 8192,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_selective_filter_keeps_filtering() {
        let filter = keeping(5);
        for i in 0..40 {
            assert!(kept(&filter, i * 8192) < 8192 / 10, "batch {i}");
        }
    }

    #[test]
    fn a_filter_that_keeps_most_rows_steps_aside_after_its_sample() {
        let filter = keeping(90);
        let batches = SAMPLE_ROWS / 8192;
        for i in 0..batches {
            assert!(
                kept(&filter, i as i64 * 8192) < 8192,
                "batch {i} is filtered"
            );
        }
        assert!(matches!(
            filter.evaluate(&batch(0)).unwrap(),
            ColumnarValue::Scalar(ScalarValue::Boolean(Some(true)))
        ));
    }

    #[test]
    fn rows_before_the_join_built_its_filter_do_not_count() {
        // A dynamic filter is `true` until its join has built its hash table.
        let filter = WhileSelective::new(lit(true), true);
        for _ in 0..2 * SAMPLE_ROWS / 8192 {
            filter.evaluate(&batch(0)).unwrap();
        }
        assert_eq!(filter.seen.load(Ordering::Relaxed), 0);
        assert!(!filter.off.load(Ordering::Relaxed));
        let mask = BooleanArray::from(vec![Some(true), None, Some(false)]);
        assert_eq!(mask.true_count(), 1, "nulls count as dropped");
    }
}
