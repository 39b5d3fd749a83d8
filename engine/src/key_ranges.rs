//! An aggregate by a table's key, over files that each ascend by it, runs in one phase.
//!
//! DataFusion aggregates in two phases: each partition into a hash table of its groups,
//! then the partial results are hashed by key across partitions and merged. By a key the
//! table's files ascend by (sort_order.rs), with files of disjoint key ranges, each
//! partition can read its own run of neighbouring files instead: it then holds every row
//! of its keys, and in key order. The scan says so (a range partitioning and an order,
//! sorted_scan.rs's `key_ranges`), and DataFusion's own distribution rules then leave out
//! the exchange and merge the two phases into one that emits each group as its key
//! passes. TPC-H q18's `GROUP BY l_orderkey` over 6M rows at SF1 built two hash tables
//! of ~750K groups and exchanged 1.5M partial rows (BENCHMARKS.md, change 26). Runs may
//! also meet inside one key's rows, each partition then keeping its side (change 32).
//!
//! This runs before DataFusion's `EnsureRequirements`, which checks every other operator's
//! needs against the declared partitioning: a partitioned join, say, still gets its
//! hash exchange, since a range partitioning only matches an identical one.

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::error::Result;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::{
    ChildrenPropertiesMode, ExecutionPlan, ExecutionPlanProperties, Partitioning,
    ReplaceChildrenOptions,
};

use crate::plain_scan::PlainScanExec;

/// Range-partitions the scan under a first-phase aggregate grouped by that scan's key.
#[derive(Debug)]
pub(crate) struct KeyRangeAggregates;

impl PhysicalOptimizerRule for KeyRangeAggregates {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let partitions = config.execution.target_partitions;
        if partitions < 2 {
            return Ok(plan);
        }
        plan.transform_up(|node| {
            let Some(aggregate) = node.downcast_ref::<AggregateExec>() else {
                return Ok(Transformed::no(node));
            };
            let group_by = aggregate.group_expr();
            if *aggregate.mode() != AggregateMode::Partial
                || group_by.has_grouping_set()
                || group_by.expr().len() != 1
            {
                return Ok(Transformed::no(node));
            }
            let Some(key) = group_by.expr()[0].0.downcast_ref::<Column>() else {
                return Ok(Transformed::no(node));
            };
            match ranged(aggregate.input(), key.index(), partitions)? {
                Some(input) => Ok(Transformed::yes(recompute(node, input)?)),
                None => Ok(Transformed::no(node)),
            }
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "key_range_aggregates"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// `plan` over a range-partitioned scan whose key is `plan`'s column `index`; `None` when
/// `plan` is not a chain of projections and filters down to a plain scan of a table whose
/// files ascend by that column, or when its files do not cut into ranges.
fn ranged(
    plan: &Arc<dyn ExecutionPlan>,
    index: usize,
    partitions: usize,
) -> Result<Option<Arc<dyn ExecutionPlan>>> {
    let input_index = if let Some(scan) = plan.downcast_ref::<PlainScanExec>() {
        let Some(ranged) = crate::sorted_scan::key_ranges(scan, partitions) else {
            return Ok(None);
        };
        // The range's key must be the column the aggregate groups by.
        let keyed = match ranged.output_partitioning() {
            Partitioning::Range(range) => range.ordering().iter().any(|sort| {
                sort.expr
                    .downcast_ref::<Column>()
                    .is_some_and(|c| c.index() == index)
            }),
            _ => false,
        };
        return Ok(keyed.then_some(ranged));
    } else if let Some(projection) = plan.downcast_ref::<ProjectionExec>() {
        let Some(column) = projection
            .expr()
            .get(index)
            .and_then(|e| e.expr.downcast_ref::<Column>())
        else {
            return Ok(None);
        };
        column.index()
    } else if let Some(filter) = plan.downcast_ref::<FilterExec>() {
        match filter.projection() {
            Some(projection) => match projection.get(index) {
                Some(i) => *i,
                None => return Ok(None),
            },
            None => index,
        }
    } else {
        return Ok(None);
    };
    let [input] = plan.children()[..] else {
        return Ok(None);
    };
    match ranged(input, input_index, partitions)? {
        Some(input) => Ok(Some(recompute(Arc::clone(plan), input)?)),
        None => Ok(None),
    }
}

/// `plan` over `input`, its properties (partitioning, order, an aggregate's input order
/// mode) derived again from the new input.
fn recompute(
    plan: Arc<dyn ExecutionPlan>,
    input: Arc<dyn ExecutionPlan>,
) -> Result<Arc<dyn ExecutionPlan>> {
    plan.replace_children(
        vec![input],
        ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
    )
}

#[cfg(test)]
mod tests {
    use crate::test_util::{query_text, session_after};

    #[tokio::test]
    async fn an_aggregate_by_the_key_of_files_in_key_ranges_runs_in_one_phase() {
        // Four files of 100K ascending keys each, in disjoint ranges.
        let inserts: Vec<String> = [100_000, 200_000, 300_000]
            .iter()
            .map(|start| {
                format!(
                    "INSERT INTO t SELECT value, value % 7 FROM range({start}, {}) \
                     ORDER BY value",
                    start + 100_000
                )
            })
            .collect();
        let mut statements = vec![
            "SET datafusion.execution.target_partitions = 2",
            "CREATE TABLE t AS SELECT value AS k, value % 7 AS v \
             FROM range(0, 100000) ORDER BY value",
        ];
        statements.extend(inserts.iter().map(String::as_str));
        let (_dir, _db, session) = session_after(&statements).await;
        let session = &session;
        let text = move |sql: String| async move { query_text(session, &sql).await };
        let by_key = "SELECT k, sum(v) AS s FROM t WHERE v > 0 GROUP BY k";
        // The same groups through a computed key, which the scan's order does not cover.
        let by_expression = "SELECT k + 0 AS k, sum(v) AS s FROM t WHERE v > 0 GROUP BY k + 0";
        let checksum =
            |groups: &str| format!("SELECT count(*), sum(k * s), max(s) FROM ({groups}) g");
        let plan = text(format!("EXPLAIN {by_key}")).await;
        assert!(plan.contains("mode=SinglePartitioned"), "{plan}");
        assert!(plan.contains("ordering_mode=Sorted"), "{plan}");
        assert!(!plan.contains("RepartitionExec"), "{plan}");
        let other = text(format!("EXPLAIN {by_expression}")).await;
        assert!(other.contains("RepartitionExec"), "{other}");
        let expected = text(checksum(by_expression)).await;
        assert!(expected.contains("| 342857 "), "{expected}");
        assert_eq!(text(checksum(by_key)).await, expected);
        // A key in two files (this one's and the second one's): no ranges, and the answer
        // adds the new row (100) to the old one's (150001 % 7 = 5).
        session
            .execute_one("INSERT INTO t VALUES (150001, 100)")
            .await
            .unwrap();
        let plan = text(format!("EXPLAIN {by_key}")).await;
        assert!(plan.contains("RepartitionExec"), "{plan}");
        let answer = text(format!("SELECT s FROM ({by_key}) g WHERE k = 150001")).await;
        assert!(answer.contains("| 105 "), "{answer}");
        assert_eq!(
            text(checksum(by_key)).await,
            text(checksum(by_expression)).await
        );
    }

    #[tokio::test]
    async fn files_that_share_a_boundary_key_are_cut_there_and_count_it_once() {
        // Four files of ~100K ascending keys, each starting with the key the one before
        // ends with (as a writer that rolls files at row groups leaves an order's lines).
        let mut statements = vec![
            "SET datafusion.execution.target_partitions = 2".to_string(),
            "CREATE TABLE t AS SELECT value AS k, value % 7 AS v \
             FROM range(0, 100000) ORDER BY value"
                .to_string(),
        ];
        for start in [99_999, 199_999, 299_999] {
            statements.push(format!(
                "INSERT INTO t SELECT value, value % 7 FROM range({start}, {}) ORDER BY value",
                start + 100_001
            ));
        }
        let statements: Vec<&str> = statements.iter().map(String::as_str).collect();
        let (_dir, _db, session) = session_after(&statements).await;
        let session = &session;
        let text = move |sql: String| async move { query_text(session, &sql).await };
        let by_key = "SELECT k, sum(v) AS s, count(*) AS n FROM t GROUP BY k";
        let by_expression = "SELECT k + 0 AS k, sum(v) AS s, count(*) AS n FROM t GROUP BY k + 0";
        let plan = text(format!("EXPLAIN {by_key}")).await;
        assert!(plan.contains("mode=SinglePartitioned"), "{plan}");
        assert!(!plan.contains("RepartitionExec"), "{plan}");
        assert!(
            plan.contains("key_windows=[(, 199999], (199999, ]]"),
            "{plan}"
        );
        let checksum =
            |groups: &str| format!("SELECT count(*), sum(k * s), sum(n), max(n) FROM ({groups}) g");
        let expected = text(checksum(by_expression)).await;
        assert!(expected.contains("| 400000 "), "{expected}");
        assert_eq!(text(checksum(by_key)).await, expected);
        // The shared key's two rows (one in each file) are one group.
        let shared = text(format!("SELECT s, n FROM ({by_key}) g WHERE k = 199999")).await;
        assert!(shared.contains("| 4 | 2 |"), "{shared}");
    }

    #[tokio::test]
    async fn fewer_windowed_runs_than_partitions_are_padded_not_spread_across_them() {
        // Two files sharing key 99999 make two windowed runs; three partitions are asked
        // for. A round-robin between a window and its files would apply the windows to
        // other rows, and one above them would bring back the two phases: the third
        // partition is an empty run instead, and the groups are counted once each.
        let statements = [
            "SET datafusion.execution.target_partitions = 3",
            "CREATE TABLE t AS SELECT value AS k, value % 7 AS v FROM range(0, 100000) \
             ORDER BY value",
            "INSERT INTO t SELECT value, value % 7 FROM range(99999, 200000) ORDER BY value",
        ];
        let (_dir, _db, session) = session_after(&statements).await;
        let by_key = "SELECT k, sum(v) AS s, count(*) AS n FROM t GROUP BY k";
        let plan = query_text(&session, &format!("EXPLAIN {by_key}")).await;
        assert!(
            plan.contains("key_windows=[(, 99999], (99999, ], (199999, ]]"),
            "{plan}"
        );
        assert!(plan.contains("mode=SinglePartitioned"), "{plan}");
        assert!(!plan.contains("RepartitionExec"), "{plan}");
        let below_windows = plan
            .lines()
            .skip_while(|line| !line.contains("PlainScanExec"))
            .nth(1);
        assert!(
            below_windows.is_some_and(|line| line.contains("DataSourceExec")),
            "{plan}"
        );
        let checksum = format!("SELECT count(*), sum(k * s), sum(n), max(n) FROM ({by_key}) g");
        let expected = "SELECT count(*), sum(k * s), sum(n), max(n) FROM \
             (SELECT k + 0 AS k, sum(v) AS s, count(*) AS n FROM t GROUP BY k + 0) g";
        let expected = query_text(&session, expected).await;
        assert!(expected.contains("| 200000 "), "{expected}");
        assert_eq!(query_text(&session, &checksum).await, expected);
    }

    #[test]
    fn files_are_cut_into_runs_where_keys_do_not_meet_or_can_be_windowed() {
        use crate::plain_scan::KeyWindow;
        use crate::sorted_scan::ranges_for_test as ranges;
        // (min, max, bytes) per file, listed out of order; `shared`: the key is an integer
        // the scan can window, so a cut may fall between files that share a key.
        let cut_on = |files: &[(i64, i64, u64)], partitions, threads, shared| {
            ranges(files, partitions, threads, shared).map(|(groups, splits, windows)| {
                let sizes: Vec<usize> = groups.iter().map(|g| g.len()).collect();
                (sizes, splits, windows)
            })
        };
        let cut = |files: &[(i64, i64, u64)], partitions| {
            cut_on(files, partitions, partitions, false).map(|(sizes, splits, windows)| {
                assert_eq!(windows, None);
                (sizes, splits)
            })
        };
        let even = [(20, 29, 100), (0, 9, 100), (30, 39, 100), (10, 19, 100)];
        assert_eq!(cut(&even, 2), Some((vec![2, 2], vec![20])));
        assert_eq!(cut(&even, 4), Some((vec![1, 1, 1, 1], vec![10, 20, 30])));
        assert_eq!(
            cut_on(&even, 2, 2, true),
            Some((vec![2, 2], vec![20], None))
        );
        // The fourth file ends on the key the fifth starts with: the cut moves to the
        // nearest boundary where keys do not meet, within 1.25x of an even share.
        let mut touching: Vec<_> = (0..8).map(|i| (i * 10, i * 10 + 9, 100)).collect();
        touching[3].1 = 40;
        assert_eq!(cut(&touching, 2), Some((vec![3, 5], vec![30])));
        // With 4 files that is too uneven: no ranges.
        let four = [(0, 9, 100), (10, 20, 100), (20, 29, 100), (30, 39, 100)];
        assert_eq!(cut(&four, 2), None);
        // Unless the shared key can be windowed: the first run also reads the third file
        // (for its key 20), which the second run reads from key 21 on.
        let windows = vec![
            KeyWindow {
                after: None,
                through: Some(20),
            },
            KeyWindow {
                after: Some(20),
                through: None,
            },
        ];
        assert_eq!(
            cut_on(&four, 2, 2, true),
            Some((vec![3, 2], vec![21], Some(windows)))
        );
        // A file of one key only is never where a run starts: the run before could not
        // know where its key ends. Here the run before reads all three files of key 20.
        let one_key = [(0, 9, 50), (10, 20, 100), (20, 20, 100), (20, 29, 200)];
        assert_eq!(
            cut_on(&one_key, 2, 2, true).map(|(sizes, splits, _)| (sizes, splits)),
            Some((vec![4, 1], vec![21]))
        );
        // Two runs for three partitions on two threads: an empty third run, of the keys
        // above the last file's. On three threads, no ranges: a third of the cores idle.
        let two = [(0, 9, 100), (10, 19, 100)];
        assert_eq!(
            cut_on(&two, 3, 2, false),
            Some((vec![1, 1, 0], vec![10, 20], None))
        );
        assert_eq!(cut_on(&two, 3, 3, false), None);
        // Overlapping files, or one file: no ranges.
        assert_eq!(cut(&[(0, 9, 100), (5, 15, 100)], 2), None);
        assert_eq!(cut_on(&[(0, 9, 100), (5, 15, 100)], 2, 2, true), None);
        assert_eq!(cut(&[(0, 9, 100)], 2), None);
        // Three files of 104, 104 and 24 bytes (TPC-H SF1 lineitem's MB): 104 + 128.
        let sf1 = [(0, 9, 104), (10, 19, 104), (20, 29, 24)];
        assert_eq!(cut(&sf1, 2), Some((vec![1, 2], vec![10])));
        // Three runs of them are too uneven for 3 threads, not for 2: neither of those
        // has more than 1.25x of 116 bytes to read.
        assert_eq!(cut_on(&sf1, 3, 3, false), None);
        assert_eq!(
            cut_on(&sf1, 3, 2, false),
            Some((vec![1, 1, 1], vec![10, 20], None))
        );
    }
}
