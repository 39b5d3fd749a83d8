//! One partition of a `SmallGroupsAggregateExec`: its input grouped by keys.rs, handed to
//! DataFusion's `AggregateExec` when the groups outgrow it.

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::internal_err;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::Result;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::aggregates::{aggregate_expressions, AggregateExec};
use datafusion::physical_plan::execution_plan::{ChildrenPropertiesMode, ReplaceChildrenOptions};
use datafusion::physical_plan::metrics::{BaselineMetrics, ExecutionPlanMetricsSet, RecordOutput};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, SendableRecordBatchStream,
};
use futures::stream::{self, BoxStream};
use futures::{StreamExt, TryStreamExt};
use parking_lot::Mutex;

use super::keys::GroupKeys;
use super::MAX_GROUPS;

pub(super) fn execute(
    aggregate: &Arc<AggregateExec>,
    partition: usize,
    context: Arc<TaskContext>,
    metrics: &ExecutionPlanMetricsSet,
) -> Result<SendableRecordBatchStream> {
    let schema = aggregate.schema();
    let input = aggregate.input().execute(partition, Arc::clone(&context))?;
    let grouping = Grouping::try_new(aggregate)?;
    let run = Run {
        aggregate: Arc::clone(aggregate),
        partition,
        context,
        metrics: BaselineMetrics::new(metrics, partition),
    };
    let output = stream::once(run.go(grouping, input)).try_flatten();
    Ok(Box::pin(RecordBatchStreamAdapter::new(schema, output)))
}

struct Run {
    aggregate: Arc<AggregateExec>,
    partition: usize,
    context: Arc<TaskContext>,
    metrics: BaselineMetrics,
}

impl Run {
    /// Groups the input; then the groups' states, followed by DataFusion's aggregate of
    /// the rest of the input if the groups outgrew keys.rs.
    async fn go(
        self,
        mut grouping: Grouping,
        mut input: SendableRecordBatchStream,
    ) -> Result<BoxStream<'static, Result<RecordBatch>>> {
        // `Some(batch not added)` when the rest of the input goes to DataFusion's aggregate.
        let handoff = loop {
            let Some(batch) = input.next().await.transpose()? else {
                break None;
            };
            let timer = self.metrics.elapsed_compute().timer();
            let added = grouping.add(&batch)?;
            timer.done();
            if !added {
                break Some(Some(batch));
            }
            if grouping.keys.len() > MAX_GROUPS {
                break Some(None);
            }
        };
        let timer = self.metrics.elapsed_compute().timer();
        let ours = grouping.emit(self.context.session_config().batch_size())?;
        timer.done();
        for batch in &ours {
            batch.record_output(&self.metrics);
        }
        self.metrics.done();
        let ours = stream::iter(ours.into_iter().map(Ok));
        let Some(pending) = handoff else {
            return Ok(ours.boxed());
        };
        let rest: SendableRecordBatchStream = match pending {
            None => input,
            Some(batch) => Box::pin(RecordBatchStreamAdapter::new(
                input.schema(),
                stream::once(async { Ok(batch) }).chain(input),
            )),
        };
        let source = HandoffExec {
            input: Mutex::new(Some(rest)),
            properties: Arc::clone(self.aggregate.input().properties()),
        };
        let aggregate = Arc::clone(&self.aggregate) as Arc<dyn ExecutionPlan>;
        let theirs = aggregate
            .replace_children(
                vec![Arc::new(source)],
                ReplaceChildrenOptions::new(ChildrenPropertiesMode::Keep),
            )?
            .execute(self.partition, self.context)?;
        Ok(ours.chain(theirs).boxed())
    }
}

/// The aggregate's expressions and accumulators, and keys.rs's groups.
struct Grouping {
    schema: SchemaRef,
    keys: GroupKeys,
    group_exprs: Vec<Arc<dyn PhysicalExpr>>,
    arguments: Vec<Vec<Arc<dyn PhysicalExpr>>>,
    filters: Vec<Option<Arc<dyn PhysicalExpr>>>,
    accumulators: Vec<Box<dyn GroupsAccumulator>>,
    /// The group of each row of the batch being added.
    groups: Vec<usize>,
}

impl Grouping {
    fn try_new(aggregate: &AggregateExec) -> Result<Self> {
        let input_schema = aggregate.input().schema();
        let group_exprs: Vec<_> = aggregate
            .group_expr()
            .expr()
            .iter()
            .map(|(e, _)| Arc::clone(e))
            .collect();
        let types = group_exprs
            .iter()
            .map(|e| e.data_type(&input_schema))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            schema: aggregate.schema(),
            keys: GroupKeys::new(types),
            arguments: aggregate_expressions(
                aggregate.aggr_expr(),
                aggregate.mode(),
                group_exprs.len(),
            )?,
            group_exprs,
            filters: aggregate.filter_expr().to_vec(),
            accumulators: aggregate
                .aggr_expr()
                .iter()
                .map(|a| a.create_groups_accumulator())
                .collect::<Result<_>>()?,
            groups: Vec::new(),
        })
    }

    /// Adds `batch` to the groups; `false`, and nothing added, when a key does not fit.
    fn add(&mut self, batch: &RecordBatch) -> Result<bool> {
        let columns = evaluate(&self.group_exprs, batch)?;
        if !self.keys.intern(&columns, &mut self.groups) {
            return Ok(false);
        }
        let total = self.keys.len();
        for ((accumulator, arguments), filter) in self
            .accumulators
            .iter_mut()
            .zip(&self.arguments)
            .zip(&self.filters)
        {
            let values = evaluate(arguments, batch)?;
            let filter = match filter {
                Some(f) => Some(f.evaluate(batch)?.into_array(batch.num_rows())?),
                None => None,
            };
            let filter = filter.as_ref().map(|f| f.as_boolean());
            accumulator.update_batch(&values, &self.groups, filter, total)?;
        }
        Ok(true)
    }

    /// Every group's keys and states, in batches of at most `batch_size` rows.
    fn emit(&mut self, batch_size: usize) -> Result<Vec<RecordBatch>> {
        let groups = self.keys.len();
        if groups == 0 {
            return Ok(Vec::new());
        }
        let mut columns = self.keys.columns()?;
        for accumulator in &mut self.accumulators {
            columns.extend(accumulator.state(EmitTo::All)?);
        }
        let all = RecordBatch::try_new(Arc::clone(&self.schema), columns)?;
        Ok((0..groups)
            .step_by(batch_size.max(1))
            .map(|at| all.slice(at, batch_size.min(groups - at)))
            .collect())
    }
}

fn evaluate(exprs: &[Arc<dyn PhysicalExpr>], batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
    exprs
        .iter()
        .map(|e| e.evaluate(batch)?.into_array(batch.num_rows()))
        .collect()
}

/// The rest of a partition's input, as a leaf under DataFusion's `AggregateExec`; executed
/// once, by that aggregate. Written here because DataFusion's `StreamingTableExec` serves a
/// partition by its index and would need placeholders for every partition before this one,
/// and its streams are made anew at each `execute`, where this one exists once.
struct HandoffExec {
    input: Mutex<Option<SendableRecordBatchStream>>,
    properties: Arc<PlanProperties>,
}

impl fmt::Debug for HandoffExec {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "HandoffExec")
    }
}

impl DisplayAs for HandoffExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "HandoffExec")
    }
}

impl ExecutionPlan for HandoffExec {
    fn name(&self) -> &str {
        "HandoffExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(
        &self,
        _partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        match self.input.lock().take() {
            Some(input) => Ok(input),
            None => internal_err!("a handed-off input is read once"),
        }
    }
}
