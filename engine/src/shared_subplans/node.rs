//! The logical node that marks a repeated subplan, and its planning into `SharedSubplanExec`.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::DFSchemaRef;
use datafusion::error::Result;
use datafusion::execution::context::QueryPlanner;
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::logical_expr::{
    Expr, LogicalPlan, UserDefinedLogicalNode, UserDefinedLogicalNodeCore,
};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_planner::{DefaultPhysicalPlanner, ExtensionPlanner, PhysicalPlanner};
use deltalake::delta_datafusion::planner::DeltaExtensionPlanner;

use super::exec::SharedSubplanExec;

/// One occurrence of a subplan that occurs more than once in a query; occurrences carry the
/// same `id`, so after wrapping they are still equal to one another.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd)]
pub(super) struct SharedSubplan {
    pub(super) id: u64,
    pub(super) input: LogicalPlan,
}

impl UserDefinedLogicalNodeCore for SharedSubplan {
    fn name(&self) -> &str {
        "SharedSubplan"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        vec![&self.input]
    }

    fn schema(&self) -> &DFSchemaRef {
        self.input.schema()
    }

    fn expressions(&self) -> Vec<Expr> {
        vec![]
    }

    fn fmt_for_explain(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "SharedSubplan: id={}", self.id)
    }

    fn with_exprs_and_inputs(
        &self,
        _exprs: Vec<Expr>,
        mut inputs: Vec<LogicalPlan>,
    ) -> Result<Self> {
        Ok(Self {
            id: self.id,
            input: inputs.swap_remove(0),
        })
    }
}

/// Plans `SharedSubplan` as a `SharedSubplanExec` that, until the `ShareSubplans` rule links
/// it with its twins, runs its input as it is.
#[derive(Debug)]
struct SharedSubplanPlanner;

#[async_trait]
impl ExtensionPlanner for SharedSubplanPlanner {
    async fn plan_extension(
        &self,
        _planner: &dyn PhysicalPlanner,
        node: &dyn UserDefinedLogicalNode,
        _logical_inputs: &[&LogicalPlan],
        physical_inputs: &[Arc<dyn ExecutionPlan>],
        _session: &dyn Session,
        _planning_ctx: &PhysicalPlanningContext,
    ) -> Result<Option<Arc<dyn ExecutionPlan>>> {
        let Some(shared) = node.as_any().downcast_ref::<SharedSubplan>() else {
            return Ok(None);
        };
        let input = Arc::clone(&physical_inputs[0]);
        Ok(Some(Arc::new(SharedSubplanExec::new(shared.id, input))))
    }
}

/// DataFusion's planner with the extension planners of Delta's write nodes (metrics, CDC)
/// and of `SharedSubplan`.
#[derive(Debug)]
pub(crate) struct AbacusPlanner;

#[async_trait]
impl QueryPlanner for AbacusPlanner {
    async fn create_physical_plan(
        &self,
        logical_plan: &LogicalPlan,
        session: &dyn Session,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let planner = DefaultPhysicalPlanner::with_extension_planners(vec![
            Arc::new(SharedSubplanPlanner),
            DeltaExtensionPlanner::new(),
        ]);
        planner.create_physical_plan(logical_plan, session).await
    }
}
