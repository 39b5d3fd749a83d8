//! A hash join's integer build keys gathered into bitmaps on their way into the join, for
//! the probe side's scan to check its rows against (key_bitmap.rs).
//!
//! DataFusion 55 hands the probe scan either the build keys as an `IN` list (up to 150) or a
//! lookup in the join's hash table, which costs per row what the join's probe does: TPC-H
//! q21's semi and anti joins each probed all 60M lineitem rows to keep 5 %. The join does
//! not expose its build keys, so this node, put above the join's build side, reads them
//! as they pass.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use datafusion::arrow::array::{BooleanArray, RecordBatch};
use datafusion::arrow::compute::and;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::Statistics;
use datafusion::error::Result;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::execution::{RecordBatchStream, TaskContext};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::metrics::{
    BaselineMetrics, ExecutionPlanMetricsSet, Gauge, MetricBuilder, MetricsSet,
};
use datafusion::physical_plan::{
    ChildStats, DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties,
    SendableRecordBatchStream, StatisticsArgs,
};
use futures::{Stream, StreamExt};
use parking_lot::Mutex;

use super::key_bitmap::{key_values, KeyBitmap};

/// The bitmaps of one join's build keys, shared by the build side's node and the probe
/// side's filters. Complete once every build partition has ended; until then, and when a
/// key's values spread too far, there is nothing to check against.
#[derive(Debug)]
pub(super) struct BuildKeys {
    partitions: usize,
    keys: usize,
    round: Mutex<Round>,
}

/// One execution of the build side. A plan executed again starts a new round, so a probe
/// never checks against keys of another execution's data.
#[derive(Debug, Default)]
struct Round {
    started: usize,
    finished: usize,
    /// Per key; `None` once the key's values spread too far (or its stream failed).
    building: Vec<Option<KeyBitmap>>,
    complete: Option<Arc<Vec<Option<KeyBitmap>>>>,
    /// The partitions' shares of the session's memory pool, held as long as the bitmaps.
    memory: Vec<MemoryReservation>,
}

impl BuildKeys {
    pub(super) fn new(partitions: usize, keys: usize) -> Self {
        Self {
            partitions,
            keys,
            round: Mutex::default(),
        }
    }

    fn start(&self) {
        let mut round = self.round.lock();
        if round.started == self.partitions {
            *round = Round::default();
        }
        if round.started == 0 {
            round.building = (0..self.keys).map(|_| Some(KeyBitmap::default())).collect();
        }
        round.started += 1;
    }

    /// A build partition's keys, `None` for a key whose values spread too far, and the
    /// memory they hold.
    fn finish(&self, keys: Vec<Option<KeyBitmap>>, memory: MemoryReservation) -> usize {
        let mut round = self.round.lock();
        round.memory.push(memory);
        for (into, from) in round.building.iter_mut().zip(keys) {
            let merged = match (into.as_mut(), from) {
                (Some(into), Some(from)) => into.merge(&from),
                _ => false,
            };
            if !merged {
                *into = None;
            }
        }
        round.finished += 1;
        if round.finished == self.partitions {
            let building = std::mem::take(&mut round.building);
            round.complete = Some(Arc::new(building));
        }
        round
            .complete
            .as_ref()
            .map_or(0, |keys| keys.iter().flatten().map(KeyBitmap::size).sum())
    }

    /// The build keys' bitmaps, once every build partition has ended.
    fn complete(&self) -> Option<Arc<Vec<Option<KeyBitmap>>>> {
        self.round.lock().complete.clone()
    }
}

/// The probe side's keys (in its scan's columns) to check against a join's build keys.
#[derive(Debug, Clone)]
pub(super) struct ProbeKeys {
    /// Per key of the join: its probe-side expression, when it goes into a bitmap.
    pub exprs: Vec<Option<Arc<dyn PhysicalExpr>>>,
    pub build: Arc<BuildKeys>,
}

impl ProbeKeys {
    /// The rows whose keys the build side holds; `None` until the bitmaps are complete, or
    /// when no key has one.
    pub(super) fn evaluate(&self, batch: &RecordBatch) -> Result<Option<BooleanArray>> {
        let Some(bitmaps) = self.build.complete() else {
            return Ok(None);
        };
        let mut mask: Option<BooleanArray> = None;
        for (expr, bitmap) in self.exprs.iter().zip(bitmaps.iter()) {
            let (Some(expr), Some(bitmap)) = (expr, bitmap) else {
                continue;
            };
            let keys = key_values(expr, batch)?;
            let present = bitmap.contains_all(&keys);
            mask = Some(match mask {
                Some(m) => and(&m, &present)?,
                None => present,
            });
        }
        Ok(mask)
    }
}

/// The keys that have a bitmap, as `k@0, …`.
impl fmt::Display for ProbeKeys {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        for (i, key) in self.exprs.iter().flatten().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{key}")?;
        }
        Ok(())
    }
}

/// Passes a hash join's build side through, gathering its keys into `BuildKeys`.
#[derive(Debug)]
pub(super) struct BuildKeysExec {
    input: Arc<dyn ExecutionPlan>,
    /// Per key of the join: its build-side expression, when it goes into a bitmap.
    keys: Vec<Option<Arc<dyn PhysicalExpr>>>,
    build: Arc<BuildKeys>,
    metrics: ExecutionPlanMetricsSet,
}

impl BuildKeysExec {
    pub(super) fn new(
        input: Arc<dyn ExecutionPlan>,
        keys: Vec<Option<Arc<dyn PhysicalExpr>>>,
    ) -> Self {
        let partitions = input.properties().partitioning.partition_count();
        let build = Arc::new(BuildKeys::new(partitions, keys.len()));
        Self {
            input,
            keys,
            build,
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }

    pub(super) fn build_keys(&self) -> &Arc<BuildKeys> {
        &self.build
    }
}

impl DisplayAs for BuildKeysExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "BuildKeysExec: bitmaps=[")?;
        for (i, key) in self.keys.iter().flatten().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{key}")?;
        }
        write!(f, "]")
    }
}

impl ExecutionPlan for BuildKeysExec {
    fn name(&self) -> &str {
        "BuildKeysExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![false]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        for key in self.keys.iter().flatten() {
            if f(key)? == TreeNodeRecursion::Stop {
                return Ok(TreeNodeRecursion::Stop);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    }

    fn child_stats_requests(&self, partition: Option<usize>) -> Vec<ChildStats> {
        vec![ChildStats::At(partition)]
    }

    /// The input's: every row passes.
    fn statistics_from_inputs(
        &self,
        input_stats: &[Arc<Statistics>],
        _args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        Ok(match input_stats.first() {
            Some(stats) => Arc::clone(stats),
            None => Arc::new(Statistics::new_unknown(&self.schema())),
        })
    }

    /// Keeps the bitmaps the probe side's filters were given.
    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(Arc::new(Self {
            input: children.swap_remove(0),
            keys: self.keys.clone(),
            build: Arc::clone(&self.build),
            metrics: ExecutionPlanMetricsSet::new(),
        }))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let memory = MemoryConsumer::new(format!("BuildKeysExec[{partition}]"))
            .register(context.memory_pool());
        let input = self.input.execute(partition, context)?;
        self.build.start();
        Ok(Box::pin(Gather {
            input,
            exprs: self.keys.clone(),
            bitmaps: self
                .keys
                .iter()
                .map(|k| k.as_ref().map(|_| KeyBitmap::default()))
                .collect(),
            build: Arc::clone(&self.build),
            metrics: BaselineMetrics::new(&self.metrics, partition),
            bytes: MetricBuilder::new(&self.metrics).gauge("bitmap_bytes", partition),
            memory: Some(memory),
            finished: false,
        }))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }
}

/// One build partition's stream: batches pass unchanged, their keys go into the bitmaps.
struct Gather {
    input: SendableRecordBatchStream,
    exprs: Vec<Option<Arc<dyn PhysicalExpr>>>,
    bitmaps: Vec<Option<KeyBitmap>>,
    build: Arc<BuildKeys>,
    metrics: BaselineMetrics,
    bytes: Gauge,
    memory: Option<MemoryReservation>,
    finished: bool,
}

impl Gather {
    fn gather(&mut self, batch: &RecordBatch) -> Result<()> {
        let _timer = self.metrics.elapsed_compute().timer();
        for (expr, bitmap) in self.exprs.iter().zip(self.bitmaps.iter_mut()) {
            let (Some(expr), Some(inner)) = (expr, bitmap.as_mut()) else {
                continue;
            };
            let keys = key_values(expr, batch)?;
            if !inner.insert_all(&keys) {
                *bitmap = None;
            }
        }
        // Under a memory limit the join's own table comes first: bitmaps that do not fit
        // are dropped, and the probe side is filtered as it was without them.
        let size = self.bitmaps.iter().flatten().map(KeyBitmap::size).sum();
        if let Some(memory) = &mut self.memory {
            if memory.try_resize(size).is_err() {
                self.bitmaps.iter_mut().for_each(|b| *b = None);
                memory.free();
            }
        }
        Ok(())
    }

    fn finish(&mut self, complete: bool) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        let mut bitmaps = std::mem::take(&mut self.bitmaps);
        if !complete {
            bitmaps.iter_mut().for_each(|b| *b = None);
        }
        let memory = self.memory.take().expect("finished once");
        self.bytes.set(self.build.finish(bitmaps, memory));
    }
}

impl Stream for Gather {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.input.poll_next_unpin(cx);
        match &polled {
            Poll::Ready(Some(Ok(batch))) => {
                if let Err(e) = self.gather(batch) {
                    self.finish(false);
                    return Poll::Ready(Some(Err(e)));
                }
                self.metrics.record_output(batch.num_rows());
            }
            Poll::Ready(Some(Err(_))) => self.finish(false),
            Poll::Ready(None) => self.finish(true),
            Poll::Pending => {}
        }
        polled
    }
}

impl RecordBatchStream for Gather {
    fn schema(&self) -> SchemaRef {
        self.input.schema()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;

    fn keys(values: &[i64]) -> Option<KeyBitmap> {
        let mut bitmap = KeyBitmap::default();
        assert!(bitmap.insert_all(&Int64Array::from(values.to_vec())));
        Some(bitmap)
    }

    fn memory() -> MemoryReservation {
        use datafusion::execution::memory_pool::{MemoryPool, UnboundedMemoryPool};
        let pool: Arc<dyn MemoryPool> = Arc::new(UnboundedMemoryPool::default());
        MemoryConsumer::new("test").register(&pool)
    }

    fn holds(bitmap: &KeyBitmap, key: i64) -> bool {
        bitmap.contains_all(&Int64Array::from(vec![key])).value(0)
    }

    /// Complete only once every partition has ended, with every partition's keys; a key
    /// one partition could not gather has no bitmap; running the plan again starts over.
    #[test]
    fn complete_when_every_partition_ended_and_again_per_execution() {
        let build = BuildKeys::new(2, 2);
        build.start();
        build.start();
        build.finish(vec![keys(&[1, 2]), keys(&[10])], memory());
        assert!(build.complete().is_none());
        build.finish(vec![keys(&[3]), None], memory());
        let complete = build.complete().unwrap();
        let first = complete[0].as_ref().unwrap();
        assert!(holds(first, 1) && holds(first, 3) && !holds(first, 4));
        assert!(complete[1].is_none());
        build.start();
        assert!(build.complete().is_none(), "a new execution starts over");
        build.start();
        build.finish(vec![keys(&[7]), keys(&[8])], memory());
        build.finish(vec![keys(&[9]), keys(&[8])], memory());
        let complete = build.complete().unwrap();
        let first = complete[0].as_ref().unwrap();
        assert!(holds(first, 7) && holds(first, 9) && !holds(first, 1));
        assert!(holds(complete[1].as_ref().unwrap(), 8));
    }
}
