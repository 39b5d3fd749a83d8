//! The plan node that applies dynamic filters on a scan's output, or passes batches through.

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{AsArray, BooleanArray};
use datafusion::arrow::compute::{and, filter_record_batch};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::ScalarValue;
use datafusion::datasource::source::DataSource;
use datafusion::error::Result;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::ColumnarValue;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::metrics::{
    BaselineMetrics, ExecutionPlanMetricsSet, MetricBuilder, MetricsSet,
};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, SendableRecordBatchStream,
};
use futures::{StreamExt, TryStreamExt};

use super::build_keys::ProbeKeys;
use super::in_decoder;
use super::selective::WhileSelective;

/// Unlike a `FilterExec`, a batch that every filter lets through (all of them once they
/// stepped aside) is passed on as it is, not copied into a new one: the node then costs
/// nothing.
#[derive(Debug)]
pub(super) struct DynamicFilterExec {
    input: Arc<dyn ExecutionPlan>,
    filters: Vec<Arc<WhileSelective>>,
    metrics: ExecutionPlanMetricsSet,
}

impl DynamicFilterExec {
    pub(super) fn new(input: Arc<dyn ExecutionPlan>, filters: Vec<Arc<WhileSelective>>) -> Self {
        Self {
            input,
            filters,
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }
}

impl DisplayAs for DynamicFilterExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "DynamicFilterExec: ")?;
        for (i, filter) in self.filters.iter().enumerate() {
            if i > 0 {
                write!(f, " AND ")?;
            }
            write!(f, "{filter}")?;
        }
        Ok(())
    }
}

impl ExecutionPlan for DynamicFilterExec {
    fn name(&self) -> &str {
        "DynamicFilterExec"
    }

    /// The input's: dropping rows keeps partitioning, order and equivalences.
    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        for filter in &self.filters {
            if f(&(Arc::clone(filter) as Arc<dyn PhysicalExpr>))? == TreeNodeRecursion::Stop {
                return Ok(TreeNodeRecursion::Stop);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let filters = self.filters.iter().map(|f| Arc::new(f.fresh())).collect();
        Ok(Arc::new(Self::new(children.swap_remove(0), filters)))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let schema = self.input.schema();
        let filters = self.filters.clone();
        let metrics = BaselineMetrics::new(&self.metrics, partition);
        let probes: Vec<ProbeKeys> = self
            .filters
            .iter()
            .filter_map(|f| f.probe().cloned())
            .collect();
        let files = (!probes.is_empty())
            .then(|| in_decoder::parquet_files(&self.input))
            .flatten();
        let input: SendableRecordBatchStream = match files {
            None => {
                let input = self.input.execute(partition, context)?;
                // Only the first batch waits: once it passed, every filter it waited for is
                // complete.
                let mut waiting = Some(self.filters.clone());
                let input = input.then(move |batch| {
                    let filters = waiting.take();
                    async move {
                        for filter in filters.iter().flatten() {
                            filter.ready().await;
                        }
                        batch
                    }
                });
                Box::pin(RecordBatchStreamAdapter::new(Arc::clone(&schema), input))
            }
            // The first batch, once the joins have built their keys, tells whether the
            // partition checks them in its decoder (in_decoder.rs).
            Some(files) => {
                let waiting = self.filters.clone();
                let decoded =
                    MetricBuilder::new(&self.metrics).counter("filtered_in_decoder", partition);
                let out_schema = Arc::clone(&schema);
                let chosen = async move {
                    let mut input = files.open(partition, Arc::clone(&context))?;
                    let first = input.next().await.transpose()?;
                    for filter in &waiting {
                        filter.ready().await;
                    }
                    let Some(first) = first else {
                        return Ok(input);
                    };
                    if in_decoder::narrow(&first, &probes)? {
                        if let Some(decoder) = in_decoder::filtering_in_decoder(&files, &probes) {
                            decoded.add(1);
                            // Read again from the partition's start; the first batch is
                            // dropped.
                            return decoder.open(partition, context);
                        }
                    }
                    let rest = futures::stream::once(async { Ok(first) }).chain(input);
                    Ok(Box::pin(RecordBatchStreamAdapter::new(out_schema, rest))
                        as SendableRecordBatchStream)
                };
                let input = futures::stream::once(chosen).try_flatten();
                Box::pin(RecordBatchStreamAdapter::new(Arc::clone(&schema), input))
            }
        };
        let stream = input.filter_map(move |batch| {
            let out = batch.and_then(|batch| {
                let _timer = metrics.elapsed_compute().timer();
                apply(&filters, batch)
            });
            if let Ok(Some(batch)) = &out {
                metrics.record_output(batch.num_rows());
            }
            futures::future::ready(out.transpose())
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }
}

/// `batch` with the rows every filter keeps; `None` when that is none of them.
fn apply(filters: &[Arc<WhileSelective>], batch: RecordBatch) -> Result<Option<RecordBatch>> {
    let mut mask: Option<BooleanArray> = None;
    for filter in filters.iter().filter(|f| !f.is_off()) {
        let rows = match filter.evaluate(&batch)? {
            ColumnarValue::Scalar(ScalarValue::Boolean(Some(true))) => continue,
            ColumnarValue::Scalar(_) => return Ok(None),
            ColumnarValue::Array(rows) => rows,
        };
        let rows = rows.as_boolean();
        if rows.true_count() == rows.len() {
            continue;
        }
        mask = Some(match mask {
            Some(m) => and(&m, rows)?,
            None => rows.clone(),
        });
    }
    let Some(mask) = mask else {
        return Ok(Some(batch));
    };
    if mask.true_count() == 0 {
        return Ok(None);
    }
    Ok(Some(filter_record_batch(&batch, &mask)?))
}
