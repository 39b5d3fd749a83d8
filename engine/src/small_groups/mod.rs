//! Partial aggregates by short keys, grouped by the keys' bytes while the groups are few.
//!
//! DataFusion 55's `AggregateExec` picks its group table itself (`new_group_values`) and has
//! no hook for another, so a partial `AggregateExec` whose keys are short strings or
//! integers runs as a `SmallGroupsAggregateExec`: the same accumulators, fed group numbers
//! from keys.rs. Partial states may be emitted more than once for a group (the final
//! aggregate merges them), so when the groups grow past `MAX_GROUPS`, or a key does not fit,
//! the groups so far are emitted and DataFusion's own `AggregateExec` takes the rest of the
//! input: many groups cost what they cost before.

mod keys;
mod stream;

use std::fmt;
use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::config::ConfigOptions;
use datafusion::error::Result;
use datafusion::execution::TaskContext;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::execution_plan::{ChildrenPropertiesMode, ReplaceChildrenOptions};
use datafusion::physical_plan::metrics::{ExecutionPlanMetricsSet, MetricsSet};
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, InputOrderMode, PlanProperties,
    SendableRecordBatchStream,
};

/// Groups past this many are left to DataFusion's aggregate (see the module's comment).
const MAX_GROUPS: usize = 4096;

/// Runs partial aggregates by short keys as `SmallGroupsAggregateExec`s. Runs after every
/// other rule, which know DataFusion's `AggregateExec` only.
#[derive(Debug, Default)]
pub(crate) struct SmallGroupAggregates;

impl PhysicalOptimizerRule for SmallGroupAggregates {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let Some(aggregate) = node.downcast_ref::<AggregateExec>() else {
                return Ok(Transformed::no(node));
            };
            if !applies(aggregate)? {
                return Ok(Transformed::no(node));
            }
            Ok(Transformed::yes(Arc::new(SmallGroupsAggregateExec::new(
                Arc::new(aggregate.clone()),
            ))))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "SmallGroupAggregates"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// A partial aggregate of plain `GROUP BY` keys that keys.rs can hold, several of them or a
/// string (one integer key already has DataFusion's own table of integers), with
/// aggregates that update by group and need no input order.
fn applies(aggregate: &AggregateExec) -> Result<bool> {
    let group_by = aggregate.group_expr();
    if *aggregate.mode() != AggregateMode::Partial
        || group_by.is_empty()
        || !group_by.is_single()
        || aggregate.limit_options().is_some()
        || !aggregate.dynamic_expressions_produced().is_empty()
        || *aggregate.input_order_mode() != InputOrderMode::Linear
    {
        return Ok(false);
    }
    let updates_by_group = aggregate
        .aggr_expr()
        .iter()
        .all(|a| a.groups_accumulator_supported() && !a.is_distinct() && a.order_bys().is_empty());
    if !updates_by_group {
        return Ok(false);
    }
    let schema = aggregate.input().schema();
    let types = group_by
        .expr()
        .iter()
        .map(|(e, _)| e.data_type(&schema))
        .collect::<Result<Vec<_>>>()?;
    Ok(types.iter().all(keys::supported)
        && (types.len() > 1 || types[0] == datafusion::arrow::datatypes::DataType::Utf8View))
}

/// A partial `AggregateExec` run over keys.rs's group table while its groups are few.
#[derive(Debug)]
pub(crate) struct SmallGroupsAggregateExec {
    aggregate: Arc<AggregateExec>,
    metrics: ExecutionPlanMetricsSet,
}

impl SmallGroupsAggregateExec {
    fn new(aggregate: Arc<AggregateExec>) -> Self {
        Self {
            aggregate,
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }
}

impl DisplayAs for SmallGroupsAggregateExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        if !matches!(t, DisplayFormatType::TreeRender) {
            write!(f, "SmallGroups")?;
        }
        self.aggregate.fmt_as(t, f)
    }
}

impl ExecutionPlan for SmallGroupsAggregateExec {
    fn name(&self) -> &str {
        "SmallGroupsAggregateExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.aggregate.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![self.aggregate.input()]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        self.aggregate.apply_expressions(f)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let aggregate = Arc::clone(&self.aggregate) as Arc<dyn ExecutionPlan>;
        let rebuilt = aggregate.replace_children(
            children,
            ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
        )?;
        match rebuilt.downcast_ref::<AggregateExec>() {
            Some(a) if applies(a)? => Ok(Arc::new(Self::new(Arc::new(a.clone())))),
            _ => Ok(rebuilt),
        }
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        stream::execute(&self.aggregate, partition, context, &self.metrics)
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }
}

#[cfg(test)]
mod tests;
