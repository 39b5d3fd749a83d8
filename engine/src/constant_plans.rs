//! Plans of statements that read no table and call only immutable functions (`SELECT 1`,
//! the health check every connection pool sends), kept per session by SQL text: running one
//! again skips parsing, planning and optimizing, which were nearly all of its cost.
//!
//! A cached plan cannot go stale through data: it reads none. It can through settings
//! (`SET datafusion.sql_parser.parse_float_as_decimal`, `TimeZone` for a timestamptz
//! literal), so any statement that is not a query, or that calls `set_config`, empties the
//! cache.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::DFSchemaRef;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Expr, LogicalPlan, Volatility};
use datafusion::physical_plan::execution_plan::reset_plan_states;
use datafusion::physical_plan::{execute_stream, ExecutionPlan};

use crate::{Output, Result};

/// Entries kept at most; the cache starts over when full (pools send a handful of texts).
const CAPACITY: usize = 64;

pub(crate) struct Entry {
    /// The plan before optimization, for a Parse of the same text (extended protocol).
    pub(crate) logical: LogicalPlan,
    physical: Arc<dyn ExecutionPlan>,
    task: Arc<TaskContext>,
    schema: DFSchemaRef,
}

#[derive(Default)]
pub(crate) struct ConstantPlans {
    entries: parking_lot::Mutex<HashMap<String, Arc<Entry>>>,
}

impl ConstantPlans {
    /// Shared, not copied: a hit must cost less than the statement's own work.
    pub(crate) fn get(&self, sql: &str) -> Option<Arc<Entry>> {
        self.entries.lock().get(sql).cloned()
    }

    /// Runs the cached plan of `sql`, if there is one.
    pub(crate) fn run(&self, sql: &str) -> Option<Result<Output>> {
        let entry = self.get(sql)?;
        Some(entry.run())
    }

    pub(crate) fn insert(
        &self,
        sql: &str,
        logical: LogicalPlan,
        physical: Arc<dyn ExecutionPlan>,
        task: Arc<TaskContext>,
    ) {
        let mut entries = self.entries.lock();
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        let schema = logical.schema().clone();
        entries.insert(
            sql.to_string(),
            Arc::new(Entry {
                logical,
                physical,
                task,
                schema,
            }),
        );
    }

    /// Forgets every plan; called before any statement that may change settings.
    pub(crate) fn clear(&self) {
        self.entries.lock().clear();
    }
}

impl Entry {
    pub(crate) fn run(&self) -> Result<Output> {
        // A fresh copy of the nodes for every run, as DataFusion requires to run a plan
        // again: executing registers metrics in the node, which would grow without end.
        let plan = reset_plan_states(self.physical.clone())?;
        let rows = execute_stream(plan, self.task.clone())?;
        Ok(Output::Rows(crate::type_marks::restore(rows, &self.schema)))
    }
}

/// Whether running `sql` may change what a cached plan would answer.
pub(crate) fn may_change_settings(first_word: &str, sql: &str) -> bool {
    !matches!(first_word, "SELECT" | "WITH" | "VALUES")
        || sql.to_ascii_lowercase().contains("set_config")
}

/// Whether `plan` (before optimization) reads no table and calls only immutable functions.
pub(crate) fn is_constant(plan: &LogicalPlan) -> bool {
    let varies = plan.exists(|node| {
        let kept = matches!(
            node,
            LogicalPlan::Projection(_)
                | LogicalPlan::EmptyRelation(_)
                | LogicalPlan::Values(_)
                | LogicalPlan::Filter(_)
                | LogicalPlan::Limit(_)
                | LogicalPlan::SubqueryAlias(_)
                | LogicalPlan::Union(_)
        );
        if !kept {
            return Ok(true);
        }
        let mut varies = false;
        node.apply_expressions(|e| {
            varies = e.exists(|e| Ok(!constant_expr(e)))?;
            Ok(if varies {
                TreeNodeRecursion::Stop
            } else {
                TreeNodeRecursion::Continue
            })
        })?;
        Ok(varies)
    });
    varies.is_ok_and(|v| !v)
}

fn constant_expr(e: &Expr) -> bool {
    match e {
        Expr::ScalarFunction(f) => f.func.signature().volatility == Volatility::Immutable,
        Expr::Placeholder(_)
        | Expr::ScalarVariable(..)
        | Expr::ScalarSubquery(_)
        | Expr::Exists(_)
        | Expr::InSubquery(_)
        | Expr::OuterReferenceColumn(..)
        | Expr::AggregateFunction(_)
        | Expr::WindowFunction(_) => false,
        _ => true,
    }
}

/// Whether every node of `plan` can be executed again (nodes such as joins and
/// repartitions keep state from their first run).
pub(crate) fn reruns_safely(plan: &dyn ExecutionPlan) -> bool {
    matches!(
        plan.name(),
        "ProjectionExec"
            | "PlaceholderRowExec"
            | "EmptyExec"
            | "FilterExec"
            | "CoalesceBatchesExec"
            | "GlobalLimitExec"
            | "LocalLimitExec"
            | "DataSourceExec"
    ) && plan.children().iter().all(|c| reruns_safely(c.as_ref()))
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn constant_statements_run_again_from_their_plan() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::Database::open(dir.path(), crate::Config::default()).unwrap();
        let session = db.session();
        for sql in ["SELECT 1", "SELECT 1 + 2 AS three, 'a' AS s"] {
            session.execute_one(sql).await.unwrap();
            assert!(session.constant_plans().get(sql).is_some(), "{sql}");
        }
        for _ in 0..2 {
            let text =
                crate::test_util::query_text(&session, "SELECT 1 + 2 AS three, 'a' AS s").await;
            assert!(text.contains("| 3     | a |"), "{text}");
        }
        // Runs do not accumulate state in the cached plan.
        let metrics = || {
            let entry = session.constant_plans().get("SELECT 1").unwrap();
            entry.physical.metrics().map(|m| m.iter().count())
        };
        let before = metrics();
        for _ in 0..5 {
            session.execute_one("SELECT 1").await.unwrap();
        }
        assert_eq!(metrics(), before);
        for sql in [
            "SELECT now()",
            "SELECT random()",
            "SELECT count(*) FROM range(3)",
        ] {
            session.execute_one(sql).await.unwrap();
            assert!(session.constant_plans().get(sql).is_none(), "{sql}");
        }
        // A setting change empties the cache.
        session
            .execute_one("SET datafusion.sql_parser.parse_float_as_decimal = true")
            .await
            .unwrap();
        assert!(session.constant_plans().get("SELECT 1").is_none());
    }

    #[tokio::test]
    async fn a_closed_session_frees_its_state() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::Database::open(dir.path(), crate::Config::default()).unwrap();
        for sql in [
            None,
            Some("SELECT 1"),
            Some("SELECT count(*) FROM pg_catalog.pg_namespace"),
            Some("SELECT count(*) FROM pg_catalog.pg_class"),
        ] {
            let session = db.session();
            if let Some(sql) = sql {
                if let crate::Output::Rows(rows) = session.execute_one(sql).await.unwrap() {
                    let _: Vec<_> = futures::TryStreamExt::try_collect(rows).await.unwrap();
                }
            }
            let catalogs = std::sync::Arc::downgrade(&session.state().catalog_list().clone());
            drop(session);
            assert!(
                catalogs.upgrade().is_none(),
                "the catalogs of a session that ran {sql:?} outlive it"
            );
        }
    }
}
