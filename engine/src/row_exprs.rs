//! Rewriting the expressions a plan evaluates per row, for the physical rules that change
//! how arithmetic is computed (`integers`, `decimals`).

use std::sync::Arc;

use datafusion::arrow::datatypes::Schema;
use datafusion::common::tree_node::Transformed;
use datafusion::common::Result;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::filter::{FilterExec, FilterExecBuilder};
use datafusion::physical_plan::projection::{ProjectionExec, ProjectionExpr};
use datafusion::physical_plan::ExecutionPlan;

/// Rewrites one expression over rows of the given input schema.
pub(crate) type Rewrite<'a> =
    &'a dyn Fn(Arc<dyn PhysicalExpr>, &Schema) -> Result<Transformed<Arc<dyn PhysicalExpr>>>;

/// `node` rebuilt with `rewrite` applied to its projection list or filter predicate; other
/// nodes are returned as they are.
pub(crate) fn in_projections_and_filters(
    node: Arc<dyn ExecutionPlan>,
    rewrite: Rewrite,
) -> Result<Transformed<Arc<dyn ExecutionPlan>>> {
    if let Some(projection) = node.downcast_ref::<ProjectionExec>() {
        let schema = projection.input().schema();
        let mut changed = false;
        let exprs = projection
            .expr()
            .iter()
            .map(|p| {
                let e = rewrite(Arc::clone(&p.expr), &schema)?;
                changed |= e.transformed;
                Ok(ProjectionExpr {
                    expr: e.data,
                    alias: p.alias.clone(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if !changed {
            return Ok(Transformed::no(node));
        }
        let rebuilt = ProjectionExec::try_new_with_schema_metadata(
            exprs,
            Arc::clone(projection.input()),
            &projection.schema(),
        )?;
        return Ok(Transformed::yes(Arc::new(rebuilt)));
    }
    if let Some(filter) = node.downcast_ref::<FilterExec>() {
        let predicate = rewrite(Arc::clone(filter.predicate()), &filter.input().schema())?;
        if !predicate.transformed {
            return Ok(Transformed::no(node));
        }
        let rebuilt = FilterExecBuilder::from(filter)
            .with_predicate(predicate.data)
            .build()?;
        return Ok(Transformed::yes(Arc::new(rebuilt)));
    }
    Ok(Transformed::no(node))
}

/// `node` rebuilt with `rewrite` applied to the arguments of its aggregates, if it is an
/// aggregate that reads input rows (final modes merge states and evaluate no argument).
pub(crate) fn in_aggregate_arguments(
    node: Arc<dyn ExecutionPlan>,
    rewrite: Rewrite,
) -> Result<Transformed<Arc<dyn ExecutionPlan>>> {
    let Some(aggregate) = node.downcast_ref::<AggregateExec>() else {
        return Ok(Transformed::no(node));
    };
    if !matches!(
        aggregate.mode(),
        AggregateMode::Partial | AggregateMode::Single | AggregateMode::SinglePartitioned
    ) {
        return Ok(Transformed::no(node));
    }
    let schema = aggregate.input().schema();
    let mut changed = false;
    let exprs = aggregate
        .aggr_expr()
        .iter()
        .map(|a| {
            let mut this = false;
            let args = a
                .expressions()
                .into_iter()
                .map(|e| {
                    let e = rewrite(e, &schema)?;
                    this |= e.transformed;
                    Ok(e.data)
                })
                .collect::<Result<Vec<_>>>()?;
            let order = a.order_bys().iter().map(|s| Arc::clone(&s.expr)).collect();
            Ok(match a.with_new_expressions(args, order) {
                Some(rebuilt) if this => {
                    changed = true;
                    Arc::new(rebuilt)
                }
                _ => Arc::clone(a),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if !changed {
        return Ok(Transformed::no(node));
    }
    Ok(Transformed::yes(Arc::new(
        aggregate.with_new_aggr_exprs(exprs),
    )))
}
