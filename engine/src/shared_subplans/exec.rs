//! The plan node whose twins run their common input once and read its batches from memory.

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    collect_partitioned, DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties,
    SendableRecordBatchStream,
};
use futures::{StreamExt, TryStreamExt};
use parking_lot::Mutex;
use tokio::sync::OnceCell;

/// One occurrence of a shared subplan. Occurrences linked by the `ShareSubplans` rule hold
/// the same `Shared`: the first to run computes every partition of its input, the others
/// wait for it. Unlinked (`shared` is `None`) it is a pass-through.
#[derive(Debug)]
pub(crate) struct SharedSubplanExec {
    pub(super) id: u64,
    pub(super) input: Arc<dyn ExecutionPlan>,
    shared: Option<Arc<Shared>>,
}

impl SharedSubplanExec {
    pub(super) fn new(id: u64, input: Arc<dyn ExecutionPlan>) -> Self {
        Self {
            id,
            input,
            shared: None,
        }
    }

    pub(super) fn linked(&self, shared: Arc<Shared>) -> Self {
        Self {
            id: self.id,
            input: Arc::clone(&self.input),
            shared: Some(shared),
        }
    }
}

/// The batches of the common input, per partition, and how many occurrences are still to
/// read each: the last reader of a partition takes its batches, so the memory goes as soon
/// as nobody needs it.
#[derive(Debug)]
pub(super) struct Shared {
    readers: usize,
    computed: OnceCell<std::result::Result<(), Arc<DataFusionError>>>,
    partitions: Mutex<Vec<Partition>>,
    reservation: Mutex<Option<MemoryReservation>>,
}

#[derive(Debug, Default)]
struct Partition {
    batches: Option<Vec<RecordBatch>>,
    reads: usize,
    bytes: usize,
}

impl Shared {
    pub(super) fn new(readers: usize) -> Self {
        Self {
            readers,
            computed: OnceCell::new(),
            partitions: Mutex::default(),
            reservation: Mutex::default(),
        }
    }

    /// Runs `input` to the end, once; every caller waits for that one run. If the caller
    /// running it is dropped, the next waiter starts over.
    async fn compute(&self, input: &Arc<dyn ExecutionPlan>, ctx: &Arc<TaskContext>) -> Result<()> {
        let outcome = self
            .computed
            .get_or_init(|| async {
                let result = async {
                    let partitions =
                        collect_partitioned(Arc::clone(input), Arc::clone(ctx)).await?;
                    let reservation =
                        MemoryConsumer::new("SharedSubplanExec").register(ctx.memory_pool());
                    let partitions = partitions
                        .into_iter()
                        .map(|batches| {
                            let bytes = batches.iter().map(|b| b.get_array_memory_size()).sum();
                            reservation.try_grow(bytes)?;
                            Ok(Partition {
                                batches: Some(batches),
                                reads: 0,
                                bytes,
                            })
                        })
                        .collect::<Result<Vec<_>>>()?;
                    *self.partitions.lock() = partitions;
                    *self.reservation.lock() = Some(reservation);
                    Ok(())
                }
                .await;
                result.map_err(Arc::new)
            })
            .await;
        outcome.clone().map_err(DataFusionError::Shared)
    }

    /// The batches of `partition` for one reader; `None` once every planned reader had them
    /// (a plan run again), and the caller then runs its own input.
    fn read(&self, partition: usize) -> Option<Vec<RecordBatch>> {
        let mut partitions = self.partitions.lock();
        let slot = partitions.get_mut(partition)?;
        slot.reads += 1;
        if slot.reads < self.readers {
            return slot.batches.clone();
        }
        let batches = slot.batches.take();
        if let Some(reservation) = self.reservation.lock().as_mut() {
            reservation.shrink(std::mem::take(&mut slot.bytes));
        }
        batches
    }
}

impl DisplayAs for SharedSubplanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        match &self.shared {
            Some(shared) => write!(
                f,
                "SharedSubplanExec: id={}, readers={}",
                self.id, shared.readers
            ),
            None => write!(f, "SharedSubplanExec: id={}, not shared", self.id),
        }
    }
}

impl ExecutionPlan for SharedSubplanExec {
    fn name(&self) -> &str {
        "SharedSubplanExec"
    }

    /// The input's: the batches are the input's, partition by partition.
    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
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
        Ok(Arc::new(Self {
            id: self.id,
            input: children.swap_remove(0),
            shared: self.shared.clone(),
        }))
    }

    /// Filters, limits and sorts from above are not pushed into the input (the trait's
    /// defaults): they would make it differ from its twins'.
    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let Some(shared) = self.shared.clone() else {
            return self.input.execute(partition, context);
        };
        let input = Arc::clone(&self.input);
        let schema = self.schema();
        let batches = futures::stream::once(async move {
            shared.compute(&input, &context).await?;
            Ok::<_, DataFusionError>(match shared.read(partition) {
                Some(batches) => futures::stream::iter(batches.into_iter().map(Ok)).boxed(),
                None => input.execute(partition, context)?.boxed(),
            })
        })
        .try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, batches)))
    }
}
