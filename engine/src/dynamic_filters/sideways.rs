//! Where a join's probe key comes from, when the join's own dynamic filter cannot get there.
//!
//! DataFusion 55 pushes a hash join's dynamic filter down as one expression over all its keys,
//! so it stops at an aggregate as soon as one key is an aggregate's result. TPC-H q2 joins
//! its parts on `(ps_partkey, min(ps_supplycost))`: the filter stays above the aggregate, which
//! grouped the 1.6M partsupp rows of European suppliers into 1.18M parts (SF10) to keep the
//! 7.85K parts the join wants.
//! A key that is a column all the way down (through projections, filters, repartitions, the
//! group keys of aggregates and the preserved side of joins) names the rows it comes from,
//! and a probe row whose key the build side lacks joins nothing: the join's build-key bitmap
//! can drop those rows at their scan, before they are aggregated.

use std::sync::Arc;

use datafusion::common::JoinType;
use datafusion::datasource::source::DataSourceExec;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_plan::aggregates::AggregateExec;
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::joins::HashJoinExec;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::sorts::sort_preserving_merge::SortPreservingMergeExec;
use datafusion::physical_plan::ExecutionPlan;

use super::build_keys::BuildKeysExec;
use crate::plain_scan::PlainScanExec;

/// Whether dropping probe rows that match no build row leaves the join's answer as it was:
/// the join's output holds no probe row without a match (DataFusion's "probe side
/// preserved" for filters), and it is no null-aware anti join (`NOT IN`), whose answer
/// changes when its probe side becomes empty: a build-side NULL is then kept.
pub(super) fn drops_unmatched_probe_rows(join: &HashJoinExec) -> bool {
    let (_, probe_preserved) = join.join_type().on_lr_is_preserved();
    probe_preserved && !join.null_aware
}

/// The scan whose column `column` of `node`'s output is, unchanged, and that column's index
/// in the scan's output; `None` when it is computed, or goes through an operator where
/// dropping rows could change other rows (a limit, a window, a join's null-extended side).
/// Every row `node` outputs then comes from scan rows with the same value in that column,
/// and dropping scan rows drops only output rows with their values.
pub(super) fn column_source(
    node: &Arc<dyn ExecutionPlan>,
    column: usize,
) -> Option<(Arc<dyn ExecutionPlan>, usize)> {
    if node.fetch().is_some() {
        return None;
    }
    if node.downcast_ref::<DataSourceExec>().is_some() {
        return Some((Arc::clone(node), column));
    }
    if let Some(projection) = node.downcast_ref::<ProjectionExec>() {
        let from = projection
            .expr()
            .get(column)?
            .expr
            .downcast_ref::<Column>()?;
        return column_source(projection.input(), from.index());
    }
    if let Some(filter) = node.downcast_ref::<FilterExec>() {
        let from = match filter.projection() {
            Some(projection) => *projection.get(column)?,
            None => column,
        };
        return column_source(filter.input(), from);
    }
    if let Some(aggregate) = node.downcast_ref::<AggregateExec>() {
        // A group's rows all share its key: dropping them drops that group alone.
        let groups = aggregate.group_expr();
        if !groups.is_single() || aggregate.limit_options().is_some() {
            return None;
        }
        let (key, _) = groups.expr().get(column)?;
        return column_source(aggregate.input(), key.downcast_ref::<Column>()?.index());
    }
    if let Some(join) = node.downcast_ref::<HashJoinExec>() {
        return join_column_source(join, column);
    }
    let passes_rows_as_they_are = node.downcast_ref::<RepartitionExec>().is_some()
        || node.downcast_ref::<CoalescePartitionsExec>().is_some()
        || node.downcast_ref::<SortExec>().is_some()
        || node.downcast_ref::<SortPreservingMergeExec>().is_some()
        || node.downcast_ref::<PlainScanExec>().is_some()
        || node.downcast_ref::<BuildKeysExec>().is_some();
    match node.children()[..] {
        [input] if passes_rows_as_they_are => column_source(input, column),
        _ => None,
    }
}

/// A hash join's output column, traced into the side it comes from when that side's rows
/// each make their own output rows: both sides of an inner join, the preserved side of an
/// outer join, the kept side of a semi or anti join.
fn join_column_source(
    join: &HashJoinExec,
    column: usize,
) -> Option<(Arc<dyn ExecutionPlan>, usize)> {
    let column = match &join.projection {
        Some(projection) => *projection.get(column)?,
        None => column,
    };
    let left = join.left().schema().fields().len();
    let right = join.right().schema().fields().len();
    // Where each side's columns sit in the join's output, for a side whose rows each make
    // their own output rows.
    let (from_left, from_right) = match join.join_type() {
        JoinType::Inner => (0..left, left..left + right),
        JoinType::Left | JoinType::LeftSemi | JoinType::LeftAnti | JoinType::LeftMark => {
            (0..left, 0..0)
        }
        JoinType::Right => (0..0, left..left + right),
        JoinType::RightSemi | JoinType::RightAnti | JoinType::RightMark => (0..0, 0..right),
        JoinType::Full => (0..0, 0..0),
    };
    if from_left.contains(&column) {
        column_source(join.left(), column)
    } else if from_right.contains(&column) {
        column_source(join.right(), column - from_right.start)
    } else {
        None
    }
}
