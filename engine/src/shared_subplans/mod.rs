//! An aggregate that a query computes twice is computed once and read twice from memory.
//!
//! DataFusion 55 inlines a CTE at every reference, so TPC-H q15's `revenue0` (an aggregate of
//! lineitem) is scanned and aggregated twice: once for the join, once for `max(total_revenue)`.
//! PostgreSQL and DuckDB materialise such a CTE; DataFusion has no equivalent (written here for
//! that reason). After DataFusion's optimizer, the logical rule marks every aggregate that
//! occurs more than once, identical down to its scans' filters, with a `SharedSubplan` node;
//! the physical rule then links the occurrences whose physical inputs are still identical, so
//! that the first to run computes the input and the others read its batches. Filters, limits
//! and sorts from above stop at the node, so no occurrence's input drifts from the others'.

mod exec;
mod node;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::config::ConfigOptions;
use datafusion::error::Result;
use datafusion::logical_expr::{Extension, LogicalPlan};
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::{displayable, ExecutionPlan};

use exec::{Shared, SharedSubplanExec};
pub(crate) use node::AbacusPlanner;
use node::SharedSubplan;

/// Wraps each aggregate that occurs at least twice in the plan (its subqueries included) in
/// a `SharedSubplan`. Runs after DataFusion's rules, so occurrences are compared after filter
/// pushdown and projection pruning. Aggregates over volatile expressions (`random()`) stay
/// apart.
#[derive(Debug, Default)]
pub(crate) struct ShareRepeatedAggregates;

impl OptimizerRule for ShareRepeatedAggregates {
    fn name(&self) -> &str {
        "share_repeated_aggregates"
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        let mut counts: HashMap<LogicalPlan, usize> = HashMap::new();
        plan.apply_with_subqueries(|node| {
            if is_shared(node) {
                return Ok(TreeNodeRecursion::Jump);
            }
            if matches!(node, LogicalPlan::Aggregate(_)) && !is_volatile(node)? {
                *counts.entry(node.clone()).or_default() += 1;
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let ids: HashMap<LogicalPlan, u64> = counts
            .into_iter()
            .filter(|(_, n)| *n >= 2)
            .map(|(plan, _)| (plan, NEXT_ID.fetch_add(1, Ordering::Relaxed)))
            .collect();
        if ids.is_empty() {
            return Ok(Transformed::no(plan));
        }
        // Top down: an aggregate inside a repeated one is computed once with it.
        plan.transform_down_with_subqueries(|node| {
            if is_shared(&node) {
                return Ok(Transformed::new(node, false, TreeNodeRecursion::Jump));
            }
            let Some(&id) = ids.get(&node) else {
                return Ok(Transformed::no(node));
            };
            let shared = LogicalPlan::Extension(Extension {
                node: Arc::new(SharedSubplan { id, input: node }),
            });
            Ok(Transformed::new(shared, true, TreeNodeRecursion::Jump))
        })
    }
}

fn is_shared(node: &LogicalPlan) -> bool {
    matches!(node, LogicalPlan::Extension(e) if e.node.as_any().is::<SharedSubplan>())
}

fn is_volatile(plan: &LogicalPlan) -> Result<bool> {
    plan.exists(|node| Ok(node.expressions().iter().any(|e| e.is_volatile())))
}

/// Links the `SharedSubplanExec`s of one id when there are at least two and their inputs
/// are still the same plan; any other is replaced by its input. Runs last among the
/// physical rules.
#[derive(Debug, Default)]
pub(crate) struct ShareSubplans;

impl PhysicalOptimizerRule for ShareSubplans {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let mut inputs: HashMap<u64, Vec<String>> = HashMap::new();
        plan.apply(|node| {
            if let Some(shared) = node.downcast_ref::<SharedSubplanExec>() {
                let input = displayable(shared.input.as_ref()).indent(true).to_string();
                inputs.entry(shared.id).or_default().push(input);
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        if inputs.is_empty() {
            return Ok(plan);
        }
        let linked: HashMap<u64, Arc<Shared>> = inputs
            .into_iter()
            .filter(|(_, plans)| plans.len() >= 2 && plans.iter().all(|p| *p == plans[0]))
            .map(|(id, plans)| (id, Arc::new(Shared::new(plans.len()))))
            .collect();
        plan.transform_up(|node| {
            let Some(shared) = node.downcast_ref::<SharedSubplanExec>() else {
                return Ok(Transformed::no(node));
            };
            Ok(Transformed::yes(match linked.get(&shared.id) {
                Some(state) => Arc::new(shared.linked(Arc::clone(state))) as Arc<dyn ExecutionPlan>,
                None => Arc::clone(&shared.input),
            }))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "share_subplans"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_cte_aggregated_twice_scans_once_and_answers_the_same() {
        let (_dir, db) = crate::test_util::database();
        let session = db.session();
        session
            .execute_one(
                "CREATE TABLE sales AS SELECT value % 50 AS k, value AS v FROM range(100000)",
            )
            .await
            .unwrap();
        let session = &session;
        let text =
            move |sql: String| async move { crate::test_util::query_text(session, &sql).await };
        let scans_run = |plan: &str| {
            plan.lines()
                .filter(|l| l.contains("PlainScanExec") && l.contains("output_rows=100.0 K"))
                .count()
        };
        // TPC-H q15's shape: the CTE is read by the query and by a scalar subquery.
        let sql = "WITH r AS (SELECT k, sum(v) AS total FROM sales GROUP BY k) \
                   SELECT k, total FROM r WHERE total = (SELECT max(total) FROM r)";
        let plan = text(format!("EXPLAIN ANALYZE {sql}")).await;
        assert_eq!(plan.matches("SharedSubplanExec: id=").count(), 2, "{plan}");
        assert_eq!(scans_run(&plan), 1, "{plan}");
        let answer = text(sql.into()).await;
        assert!(answer.contains("| 49 | 100048000 |"), "{answer}");
        // Read from both sides of a join: the join's filter does not reach into one of them.
        let sql = "WITH r AS (SELECT k, sum(v) AS total FROM sales GROUP BY k) \
                   SELECT count(*) FROM r AS a JOIN r AS b ON a.k = b.k + 1 WHERE a.total > b.total";
        let plan = text(format!("EXPLAIN ANALYZE {sql}")).await;
        assert_eq!(scans_run(&plan), 1, "{plan}");
        let answer = text(sql.into()).await;
        assert!(answer.contains("| 49       |"), "{answer}");
        // A volatile aggregate is computed at each reference, as written.
        let sql = "WITH r AS (SELECT k, sum(v * random()) AS total FROM sales GROUP BY k) \
                   SELECT count(*) FROM r AS a JOIN r AS b ON a.k = b.k WHERE a.total >= 0";
        let plan = text(format!("EXPLAIN ANALYZE {sql}")).await;
        assert!(!plan.contains("SharedSubplanExec"), "{plan}");
        assert_eq!(scans_run(&plan), 2, "{plan}");
    }
}
