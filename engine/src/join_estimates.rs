//! Row estimates of joins for DataFusion's `JoinSelection`, so that build sides follow the
//! same estimates as the join order (join_order.rs).
//!
//! `JoinSelection` builds each hash table from the input it estimates smaller, from
//! DataFusion's own estimates, which differ from the join order's in two ways: a join whose
//! keys it cannot count is `Absent` (or a Cartesian product), and a string equality keeps 20 %
//! even when the column's values are counted (distinct_counts.rs). In TPC-H q21 the join
//! order joins the one nation's suppliers to lineitem first, and DataFusion, taking 5 nations
//! instead of 1, estimated that side at 1.19M rows (SF1) against 300K orders and built its
//! hash table from the 729K orders of status F (7.3M at SF10, 0.75 s on one thread) instead
//! of 76K lineitem rows. Through DataFusion's statistics registry
//! (`use_statistics_registry`), the providers here estimate every hash join as join_order.rs
//! does (|A|·|B| over the larger distinct count of each key, the divisor capped at the larger
//! side) and a counted equality as one value of the counted ones. Tested with the join order
//! (join_order.rs, `a_small_tables_name_picks_the_tree_and_the_build_side`).

use std::sync::Arc;

use datafusion::common::stats::Precision;
use datafusion::common::{ColumnStatistics, JoinType, Result, Statistics};
use datafusion::logical_expr::Operator;
use datafusion::physical_expr::expressions::{BinaryExpr, Column, Literal};
use datafusion::physical_expr::split_conjunction;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::joins::HashJoinExec;
use datafusion::physical_plan::operator_statistics::{
    AggregateStatisticsProvider, DefaultStatisticsProvider, ExtendedStatistics,
    FilterStatisticsProvider, LimitStatisticsProvider, PassthroughStatisticsProvider,
    ProjectionStatisticsProvider, StatisticsProvider, StatisticsRegistry, StatisticsResult,
    UnionStatisticsProvider,
};
use datafusion::physical_plan::ExecutionPlan;

use crate::join_order::{column_distinct, key_join_rows};

/// DataFusion's built-in providers, with hash joins estimated here. DataFusion's own join
/// provider is left out: without distinct counts it takes the Cartesian product, which made
/// q21's semi join build from 6M lineitem rows.
pub(crate) fn registry() -> StatisticsRegistry {
    StatisticsRegistry::with_providers(vec![
        Arc::new(HashJoinEstimates),
        Arc::new(CountedEqualities),
        Arc::new(ProjectionStatisticsProvider),
        Arc::new(PassthroughStatisticsProvider),
        Arc::new(AggregateStatisticsProvider),
        Arc::new(LimitStatisticsProvider),
        Arc::new(UnionStatisticsProvider),
        Arc::new(DefaultStatisticsProvider),
    ])
}

#[derive(Debug)]
struct HashJoinEstimates;

impl StatisticsProvider for HashJoinEstimates {
    fn compute_statistics(
        &self,
        plan: &dyn ExecutionPlan,
        child_stats: &[ExtendedStatistics],
    ) -> Result<StatisticsResult> {
        let Some(join) = plan.downcast_ref::<HashJoinExec>() else {
            return Ok(StatisticsResult::Delegate);
        };
        let [left, right] = child_stats else {
            return Ok(StatisticsResult::Delegate);
        };
        let (left, right) = (left.base(), right.base());
        let (Some(&l), Some(&r)) = (left.num_rows.get_value(), right.num_rows.get_value()) else {
            return Ok(StatisticsResult::Delegate);
        };
        let (l, r) = (l as f64, r as f64);
        let mut divisor = 1.0f64;
        for (lk, rk) in join.on() {
            divisor *= distinct(lk.as_ref(), left, l).max(distinct(rk.as_ref(), right, r));
        }
        let inner = key_join_rows(l, r, divisor);
        let rows = match join.join_type() {
            JoinType::Inner => inner,
            JoinType::Left => inner.max(l),
            JoinType::Right => inner.max(r),
            JoinType::Full => inner.max(l + r - inner.min(l + r)),
            JoinType::LeftSemi => inner.min(l),
            JoinType::RightSemi => inner.min(r),
            // At most the preserved side; how much of it has no match is not estimated.
            JoinType::LeftAnti | JoinType::LeftMark => l,
            JoinType::RightAnti | JoinType::RightMark => r,
        };
        let rows = rows.round() as usize;
        let cap = |c: &ColumnStatistics| ColumnStatistics {
            distinct_count: c.distinct_count.map(|d| d.min(rows)),
            ..c.clone()
        };
        let columns: Vec<ColumnStatistics> = match join.join_type() {
            JoinType::Inner | JoinType::Left | JoinType::Right | JoinType::Full => left
                .column_statistics
                .iter()
                .chain(&right.column_statistics)
                .map(cap)
                .collect(),
            JoinType::LeftSemi | JoinType::LeftAnti => {
                left.column_statistics.iter().map(cap).collect()
            }
            JoinType::RightSemi | JoinType::RightAnti => {
                right.column_statistics.iter().map(cap).collect()
            }
            JoinType::LeftMark => left
                .column_statistics
                .iter()
                .map(cap)
                .chain([ColumnStatistics::new_unknown()])
                .collect(),
            JoinType::RightMark => right
                .column_statistics
                .iter()
                .map(cap)
                .chain([ColumnStatistics::new_unknown()])
                .collect(),
        };
        let stats = Statistics {
            num_rows: Precision::Inexact(rows),
            total_byte_size: Precision::Absent,
            column_statistics: columns,
        }
        .project(join.projection.as_ref());
        Ok(StatisticsResult::Computed(ExtendedStatistics::new(stats)))
    }
}

/// DataFusion's filter estimate, lowered where a conjunct `column = literal` keeps fewer rows
/// by the column's distinct count: DataFusion keeps its default 20 % for a string equality
/// even when the scan counts the column's values (distinct_counts.rs), so
/// `n_name = 'SAUDI ARABIA'` kept 5 of 25 nations.
#[derive(Debug)]
struct CountedEqualities;

impl StatisticsProvider for CountedEqualities {
    fn compute_statistics(
        &self,
        plan: &dyn ExecutionPlan,
        child_stats: &[ExtendedStatistics],
    ) -> Result<StatisticsResult> {
        let Some(filter) = plan.downcast_ref::<FilterExec>() else {
            return Ok(StatisticsResult::Delegate);
        };
        let StatisticsResult::Computed(estimated) =
            FilterStatisticsProvider.compute_statistics(plan, child_stats)?
        else {
            return Ok(StatisticsResult::Delegate);
        };
        let [input] = child_stats else {
            return Ok(StatisticsResult::Computed(estimated));
        };
        let input = input.base();
        let (Some(&input_rows), Some(&rows)) = (
            input.num_rows.get_value(),
            estimated.base().num_rows.get_value(),
        ) else {
            return Ok(StatisticsResult::Computed(estimated));
        };
        let counted = split_conjunction(filter.predicate())
            .into_iter()
            .filter_map(|conjunct| equality_distinct(conjunct.as_ref(), input))
            .max();
        let Some(distinct) = counted else {
            return Ok(StatisticsResult::Computed(estimated));
        };
        let kept = input_rows.div_ceil(distinct.max(1));
        if kept >= rows {
            return Ok(StatisticsResult::Computed(estimated));
        }
        let mut stats = estimated.base().clone();
        stats.num_rows = Precision::Inexact(kept);
        for column in &mut stats.column_statistics {
            column.distinct_count = column.distinct_count.map(|d| d.min(kept));
        }
        Ok(StatisticsResult::Computed(ExtendedStatistics::new(stats)))
    }
}

/// The counted distinct values of `column` in `column = literal` (either side).
fn equality_distinct(conjunct: &dyn PhysicalExpr, input: &Statistics) -> Option<usize> {
    let b = conjunct.downcast_ref::<BinaryExpr>()?;
    if *b.op() != Operator::Eq {
        return None;
    }
    let column = match (
        b.left().downcast_ref::<Column>(),
        b.right().downcast_ref::<Column>(),
    ) {
        (Some(c), None) if b.right().downcast_ref::<Literal>().is_some() => c,
        (None, Some(c)) if b.left().downcast_ref::<Literal>().is_some() => c,
        _ => return None,
    };
    input
        .column_statistics
        .get(column.index())?
        .distinct_count
        .get_value()
        .copied()
}

/// Distinct values of a join key among `rows` rows (join_order.rs's `column_distinct`), at
/// most the rows; the rows when unknown.
fn distinct(key: &dyn PhysicalExpr, stats: &Statistics, rows: f64) -> f64 {
    key.downcast_ref::<Column>()
        .and_then(|c| stats.column_statistics.get(c.index()))
        .and_then(column_distinct)
        .unwrap_or(rows)
        .min(rows)
        .max(1.0)
}
