//! Inner-join order: relations are joined in the order with the smallest estimated
//! intermediate results, not in the order the query lists them.
//!
//! DataFusion (55) keeps the query's join order and only picks each join's build side, so
//! `FROM part, supplier, lineitem, partsupp, orders, nation` (TPC-H q9) joined the 60M
//! lineitem rows with part, then built hash tables from all 8M partsupp and 15M orders rows.
//! DataFusion has no join-reordering rule to turn on, hence this one: each tree of inner
//! equi-joins becomes the tree with the smallest estimated intermediate results (a search
//! over every split of every connected set of tables; greedy above 10 tables), with
//! estimates from the Delta log's row counts and column bounds, and small tables' distinct
//! counts (distinct_counts.rs). Build sides are chosen afterwards by DataFusion's
//! `JoinSelection`, from join_estimates.rs's estimates of the same kind.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::catalog::default_table_source::source_as_provider;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, ColumnStatistics, NullEquality, ScalarValue};
use datafusion::error::Result;
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{
    Expr, Join, JoinConstraint, JoinType, LogicalPlan, LogicalPlanBuilder, Operator,
};
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};

use crate::scan_stats::{TableStats, WithColumnStats};

/// DataFusion's `default_filter_selectivity` (20 %), for a filter the estimate cannot read.
const FILTER_SELECTIVITY: f64 = 0.2;

/// Reorders each tree of three or more inner equi-joins (see the module doc). A tree is left
/// as written when a relation's size is unknown, a join has a non-equi condition, or the
/// relations are not all connected by join keys.
///
/// It takes the place of DataFusion's `eliminate_cross_join` and runs it first: that rule
/// turns `FROM a, b WHERE …` into joins and, in every optimizer pass, rebuilds each chain of
/// directly nested inner joins in the order the tables were written, which would undo a
/// reordering made anywhere else in the pass. Running in its slot, the new order is also in
/// place before filter pushdown and projection pruning.
#[derive(Debug)]
pub(crate) struct ReorderJoins {
    pub cross_joins: Arc<dyn OptimizerRule + Send + Sync>,
}

impl OptimizerRule for ReorderJoins {
    fn name(&self) -> &str {
        "eliminate_cross_join_and_reorder_joins"
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        let joined = self.cross_joins.rewrite(plan, config)?;
        let was_transformed = joined.transformed;
        let mut reordered = joined.data.transform_down(|node| {
            if inner_equi_join(&node).is_none() {
                return Ok(Transformed::no(node));
            }
            match reorder(&node)? {
                // The new tree's relations are visited again in the optimizer's next pass.
                Some(plan) => Ok(Transformed::new(plan, true, TreeNodeRecursion::Jump)),
                None => Ok(Transformed::no(node)),
            }
        })?;
        reordered.transformed |= was_transformed;
        Ok(reordered)
    }
}

/// `plan` as an inner join on plain `column = column` pairs only, the joins this rule orders.
fn inner_equi_join(plan: &LogicalPlan) -> Option<&Join> {
    let LogicalPlan::Join(join) = plan else {
        return None;
    };
    let plain = |e: &Expr| matches!(e, Expr::Column(_));
    (join.join_type == JoinType::Inner
        && join.join_constraint == JoinConstraint::On
        && join.filter.is_none()
        && join.null_equality == NullEquality::NullEqualsNothing
        && !join.on.is_empty()
        && join.on.iter().all(|(l, r)| plain(l) && plain(r)))
    .then_some(join)
}

/// A join tree flattened: its relations and its `a = b` column pairs.
#[derive(Default)]
struct Graph {
    leaves: Vec<LogicalPlan>,
    pairs: Vec<(Column, Column)>,
}

/// A join tree over the relations' indexes: the written one and the chosen one.
#[derive(PartialEq, Eq, Clone, Debug)]
enum Shape {
    Leaf(usize),
    Join(Box<Shape>, Box<Shape>),
}

impl Shape {
    /// The same tree up to the sides of each join (DataFusion picks build sides later).
    fn canonical(&self) -> String {
        match self {
            Shape::Leaf(i) => i.to_string(),
            Shape::Join(a, b) => {
                let (a, b) = (a.canonical(), b.canonical());
                let (a, b) = if a <= b { (a, b) } else { (b, a) };
                format!("({a} {b})")
            }
        }
    }
}

fn flatten(plan: &LogicalPlan, graph: &mut Graph) -> Shape {
    if let Some(join) = inner_equi_join(plan) {
        let left = flatten(&join.left, graph);
        let right = flatten(&join.right, graph);
        for (l, r) in &join.on {
            if let (Expr::Column(l), Expr::Column(r)) = (l, r) {
                graph.pairs.push((l.clone(), r.clone()));
            }
        }
        return Shape::Join(Box::new(left), Box::new(right));
    }
    // A projection of plain columns between two joins only prunes; the tree's own output is
    // restored at the top.
    if let LogicalPlan::Projection(p) = plan {
        if inner_equi_join(&p.input).is_some()
            && p.expr.iter().all(|e| matches!(e, Expr::Column(_)))
        {
            return flatten(&p.input, graph);
        }
    }
    graph.leaves.push(plan.clone());
    Shape::Leaf(graph.leaves.len() - 1)
}

/// A relation's (or a joined group's) estimated size and its key columns' distinct counts.
#[derive(Clone, Debug)]
struct Estimate {
    rows: f64,
    /// Distinct values per equivalence class of join keys present in the group.
    ndv: HashMap<usize, f64>,
    /// Estimated bytes of one row (its relations' columns).
    width: f64,
}

fn reorder(root: &LogicalPlan) -> Result<Option<LogicalPlan>> {
    let mut graph = Graph::default();
    let original = flatten(root, &mut graph);
    let n = graph.leaves.len();
    if n < 3 {
        return Ok(None);
    }
    // Each key column belongs to exactly one relation; classes of columns made equal.
    let mut classes: Vec<Vec<(usize, Column)>> = Vec::new();
    let mut class_of: HashMap<Column, usize> = HashMap::new();
    for (a, b) in &graph.pairs {
        let (Some(la), Some(lb)) = (leaf_of(&graph.leaves, a), leaf_of(&graph.leaves, b)) else {
            return Ok(None);
        };
        let ca = class_for(&mut classes, &mut class_of, la, a);
        let cb = class_for(&mut classes, &mut class_of, lb, b);
        if ca != cb {
            let moved = std::mem::take(&mut classes[cb]);
            for (_, c) in &moved {
                class_of.insert(c.clone(), ca);
            }
            classes[ca].extend(moved);
        }
    }
    // Two columns of one relation in a class would need a filter that the new joins (one key
    // per class between two groups) do not write.
    for class in &classes {
        let mut seen = vec![false; n];
        for (leaf, _) in class {
            if std::mem::replace(&mut seen[*leaf], true) {
                return Ok(None);
            }
        }
    }
    let mut estimates = Vec::with_capacity(n);
    for (i, leaf) in graph.leaves.iter().enumerate() {
        let Some(rows) = leaf_rows(leaf) else {
            return Ok(None);
        };
        let mut ndv = HashMap::new();
        for (c, class) in classes.iter().enumerate() {
            if let Some((_, col)) = class.iter().find(|(l, _)| *l == i) {
                ndv.insert(c, distinct(leaf, col).unwrap_or(rows).min(rows).max(1.0));
            }
        }
        let width = leaf
            .schema()
            .fields()
            .iter()
            .map(|f| f.data_type().primitive_width().unwrap_or(VARIABLE_WIDTH) as f64)
            .sum();
        estimates.push(Estimate { rows, ndv, width });
    }
    let shape = if n <= MAX_SEARCHED {
        cheapest(estimates)
    } else {
        greedy(estimates)
    };
    // Relations without a join key between them: a cross join stays as written.
    let Some(shape) = shape else {
        return Ok(None);
    };
    if shape.canonical() == original.canonical() {
        return Ok(None);
    }
    let (plan, _) = build(&shape, &graph.leaves, &classes)?;
    let columns = root
        .schema()
        .iter()
        .map(|(q, f)| Expr::Column(Column::new(q.cloned(), f.name())))
        .collect::<Vec<_>>();
    LogicalPlanBuilder::from(plan)
        .project(columns)?
        .build()
        .map(Some)
}

/// Up to this many relations every split is searched (3^10 ≈ 59K); above, greedy.
const MAX_SEARCHED: usize = 10;

/// Bytes counted for a string or other variable-width value in a row's width.
const VARIABLE_WIDTH: usize = 24;

/// The tree with the smallest sum of its joins' estimated bytes (rows × row width), over
/// every split of every connected set of relations (dynamic programming over subsets).
/// Greedy ordering took the cheapest next join: TPC-H q5 joined region ⋈ nation ⋈ supplier
/// first and then had no small way to customers. Counting rows alone moved q10's wide
/// customer rows into the hash table lineitem probes (1.2× slower); bytes keep them last.
fn cheapest(leaves: Vec<Estimate>) -> Option<Shape> {
    let n = leaves.len();
    let full = (1usize << n) - 1;
    let mut best: Vec<Option<(f64, Estimate, Shape)>> = vec![None; 1 << n];
    for (i, e) in leaves.into_iter().enumerate() {
        best[1 << i] = Some((0.0, e, Shape::Leaf(i)));
    }
    for set in 1..=full {
        if set.count_ones() < 2 {
            continue;
        }
        // Each split once: `a` is the part holding the set's lowest relation.
        let lowest = set & set.wrapping_neg();
        let mut found: Option<(f64, Estimate, Shape)> = None;
        let mut a = (set - 1) & set;
        while a > 0 {
            if a & lowest != 0 {
                if let (Some((ca, ea, sa)), Some((cb, eb, sb))) = (&best[a], &best[set ^ a]) {
                    if let Some(rows) = join_rows(ea, eb) {
                        let joined_estimate = merged(ea, eb, rows);
                        let cost = ca + cb + rows * joined_estimate.width;
                        if found.as_ref().is_none_or(|(c, _, _)| cost < *c) {
                            found = Some((cost, joined_estimate, joined(sa, ea, sb, eb)));
                        }
                    }
                }
            }
            a = (a - 1) & set;
        }
        best[set] = found;
    }
    best[full].take().map(|(_, _, shape)| shape)
}

/// Greedy operator ordering: repeatedly join the connected pair with the smallest result.
fn greedy(leaves: Vec<Estimate>) -> Option<Shape> {
    let mut groups: Vec<(Shape, Estimate)> = leaves
        .into_iter()
        .enumerate()
        .map(|(i, e)| (Shape::Leaf(i), e))
        .collect();
    while groups.len() > 1 {
        let mut best: Option<(f64, usize, usize)> = None;
        for a in 0..groups.len() {
            for b in a + 1..groups.len() {
                let Some(rows) = join_rows(&groups[a].1, &groups[b].1) else {
                    continue;
                };
                if best.is_none_or(|(r, _, _)| rows < r) {
                    best = Some((rows, a, b));
                }
            }
        }
        let (rows, a, b) = best?;
        let (sb, eb) = groups.remove(b);
        let (sa, ea) = groups.remove(a);
        groups.push((joined(&sa, &ea, &sb, &eb), merged(&ea, &eb, rows)));
    }
    groups.pop().map(|(shape, _)| shape)
}

/// The estimate of two groups joined into `rows` rows: a key has at most as many distinct
/// values as on either side, and as rows; a row carries both sides' columns.
fn merged(a: &Estimate, b: &Estimate, rows: f64) -> Estimate {
    let mut ndv = a.ndv.clone();
    for (c, d) in &b.ndv {
        let e = ndv.entry(*c).or_insert(*d);
        *e = e.min(*d);
    }
    ndv.values_mut().for_each(|d| *d = d.min(rows).max(1.0));
    Estimate {
        rows,
        ndv,
        width: a.width + b.width,
    }
}

/// The join of two shapes, the smaller side first: DataFusion builds a hash join's table
/// from its left input.
fn joined(sa: &Shape, ea: &Estimate, sb: &Shape, eb: &Estimate) -> Shape {
    let (l, r) = if ea.rows <= eb.rows {
        (sa, sb)
    } else {
        (sb, sa)
    };
    Shape::Join(Box::new(l.clone()), Box::new(r.clone()))
}

fn leaf_of(leaves: &[LogicalPlan], column: &Column) -> Option<usize> {
    let mut found = leaves
        .iter()
        .enumerate()
        .filter(|(_, l)| l.schema().maybe_index_of_column(column).is_some())
        .map(|(i, _)| i);
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

fn class_for(
    classes: &mut Vec<Vec<(usize, Column)>>,
    class_of: &mut HashMap<Column, usize>,
    leaf: usize,
    column: &Column,
) -> usize {
    if let Some(&c) = class_of.get(column) {
        return c;
    }
    classes.push(vec![(leaf, column.clone())]);
    class_of.insert(column.clone(), classes.len() - 1);
    classes.len() - 1
}

/// Rows of joining two groups: |A|·|B| divided, for each shared key class, by the larger
/// distinct count, the divisor capped at the larger side (a key join returns at least the
/// smaller side). `None` when no key joins them.
fn join_rows(a: &Estimate, b: &Estimate) -> Option<f64> {
    let mut divisor = 1.0f64;
    let mut keyed = false;
    for (c, da) in &a.ndv {
        if let Some(db) = b.ndv.get(c) {
            keyed = true;
            divisor *= da.max(*db);
        }
    }
    keyed.then(|| key_join_rows(a.rows, b.rows, divisor))
}

/// Rows of joining `a` and `b` rows on keys whose larger distinct counts multiply to
/// `divisor`: the divisor is capped at the larger side. Also the build-side estimate of
/// join_estimates.rs, so both follow one formula.
pub(crate) fn key_join_rows(a: f64, b: f64, divisor: f64) -> f64 {
    a * b / divisor.min(a.max(b)).max(1.0)
}

/// The join tree of `shape`, each join on one key pair per class shared by its two sides.
fn build(
    shape: &Shape,
    leaves: &[LogicalPlan],
    classes: &[Vec<(usize, Column)>],
) -> Result<(LogicalPlan, Vec<usize>)> {
    match shape {
        Shape::Leaf(i) => Ok((leaves[*i].clone(), vec![*i])),
        Shape::Join(a, b) => {
            let (left, la) = build(a, leaves, classes)?;
            let (right, lb) = build(b, leaves, classes)?;
            let (mut lk, mut rk) = (Vec::new(), Vec::new());
            for class in classes {
                let l = class.iter().find(|(leaf, _)| la.contains(leaf));
                let r = class.iter().find(|(leaf, _)| lb.contains(leaf));
                if let (Some((_, l)), Some((_, r))) = (l, r) {
                    lk.push(l.clone());
                    rk.push(r.clone());
                }
            }
            let plan = LogicalPlanBuilder::from(left)
                .join(right, JoinType::Inner, (lk, rk), None)?
                .build()?;
            Ok((plan, la.into_iter().chain(lb).collect()))
        }
    }
}

/// Estimated rows of a relation: the Delta log's row count, times the share its filters keep
/// (`filtered_share`).
fn leaf_rows(plan: &LogicalPlan) -> Option<f64> {
    match plan {
        LogicalPlan::TableScan(scan) => {
            let stats = table_stats(plan)?;
            let rows = stats.rows? as f64;
            let rows = match scan.fetch {
                Some(fetch) => rows.min(fetch as f64),
                None => rows,
            };
            Some(rows * filtered_share(&scan.filters, &stats))
        }
        // Filters pushed into the scan are also kept above it (inexact pushdown): counted once.
        LogicalPlan::Filter(f) => match f.input.as_ref() {
            LogicalPlan::TableScan(_) => {
                let stats = table_stats(&f.input)?;
                Some(
                    stats.rows? as f64 * filtered_share(std::slice::from_ref(&f.predicate), &stats),
                )
            }
            input => Some(leaf_rows(input)? * FILTER_SELECTIVITY),
        },
        LogicalPlan::SubqueryAlias(a) => leaf_rows(&a.input),
        LogicalPlan::Projection(p) => leaf_rows(&p.input),
        _ => None,
    }
}

/// The share of a table's rows that `filters` keep. A range of a number or date column
/// (`<`, `<=`, `>`, `>=`, `BETWEEN` against literals) keeps its part of the column's min–max
/// span, as if values were spread evenly; anything else together keeps DataFusion's 20 %.
/// TPC-H q10's three months of seven years of orders keep 3.8 %, not 20.
fn filtered_share(filters: &[Expr], stats: &TableStats) -> f64 {
    if filters.is_empty() {
        return 1.0;
    }
    let mut ranges: HashMap<&str, (Option<&ScalarValue>, Option<&ScalarValue>)> = HashMap::new();
    let mut other = false;
    let mut share = 1.0;
    for conjunct in filters.iter().flat_map(split_conjunction) {
        if let Some(part) = equality_share(conjunct, stats) {
            share *= part;
            continue;
        }
        match range_bounds(conjunct) {
            Some((column, low, high)) => {
                let range = ranges.entry(column).or_default();
                // The tighter of two bounds on one side (both are literals of one type).
                if let Some(low) = low {
                    range.0 = Some(range.0.map_or(low, |l| if low > l { low } else { l }));
                }
                if let Some(high) = high {
                    range.1 = Some(range.1.map_or(high, |h| if high < h { high } else { h }));
                }
            }
            None => other = true,
        }
    }
    for (column, (low, high)) in ranges {
        match range_share(stats, column, low, high) {
            Some(part) => share *= part,
            None => other = true,
        }
    }
    if other {
        share *= FILTER_SELECTIVITY;
    }
    share
}

/// `column = literal` (either side, through casts) keeps one value of the column's counted
/// distinct ones, `column IN (literals)` as many as it lists; `None` for other conditions or
/// columns not counted (only a small table's strings are: distinct_counts.rs).
fn equality_share(e: &Expr, stats: &TableStats) -> Option<f64> {
    let counted = |column: &Expr| {
        let mut column = column;
        while let Expr::Cast(c) = column {
            column = c.expr.as_ref();
        }
        let Expr::Column(c) = column else {
            return None;
        };
        let distinct = *stats.distinct.get()?.get(&c.name)?;
        Some(distinct.max(1) as f64)
    };
    let literal = |e: &Expr| {
        let mut e = e;
        while let Expr::Cast(c) = e {
            e = c.expr.as_ref();
        }
        matches!(e, Expr::Literal(..))
    };
    match e {
        Expr::BinaryExpr(b) if b.op == Operator::Eq => {
            let distinct = if literal(&b.right) {
                counted(&b.left)?
            } else if literal(&b.left) {
                counted(&b.right)?
            } else {
                return None;
            };
            Some(1.0 / distinct)
        }
        Expr::InList(list) if !list.negated && list.list.iter().all(literal) => {
            Some((list.list.len() as f64 / counted(&list.expr)?).min(1.0))
        }
        _ => None,
    }
}

/// `column op literal` (either side) or `column BETWEEN literal AND literal`: the column and
/// its lower and upper bound.
fn range_bounds(e: &Expr) -> Option<(&str, Option<&ScalarValue>, Option<&ScalarValue>)> {
    match e {
        Expr::BinaryExpr(b) => {
            let (column, op, value) = match (b.left.as_ref(), b.right.as_ref()) {
                (Expr::Column(c), Expr::Literal(v, _)) => (c, b.op, v),
                (Expr::Literal(v, _), Expr::Column(c)) => (c, b.op.swap()?, v),
                _ => return None,
            };
            match op {
                Operator::Gt | Operator::GtEq => Some((column.name.as_str(), Some(value), None)),
                Operator::Lt | Operator::LtEq => Some((column.name.as_str(), None, Some(value))),
                _ => None,
            }
        }
        Expr::Between(b) if !b.negated => {
            match (b.expr.as_ref(), b.low.as_ref(), b.high.as_ref()) {
                (Expr::Column(c), Expr::Literal(low, _), Expr::Literal(high, _)) => {
                    Some((c.name.as_str(), Some(low), Some(high)))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// The part of `column`'s min–max span that `low..high` covers; `None` when the bounds are
/// unknown or the types do not measure a distance.
fn range_share(
    stats: &TableStats,
    column: &str,
    low: Option<&ScalarValue>,
    high: Option<&ScalarValue>,
) -> Option<f64> {
    let bounds = stats.columns.get(column)?;
    let min = bounds.min_value.get_value()?;
    let max = bounds.max_value.get_value()?;
    let span = max.distance_u64(min)? as f64;
    if span == 0.0 {
        return None;
    }
    let low = match low {
        Some(l) if l > min => l,
        Some(l) if l.data_type() != min.data_type() => return None,
        _ => min,
    };
    let high = match high {
        Some(h) if h < max => h,
        Some(h) if h.data_type() != max.data_type() => return None,
        _ => max,
    };
    if high < low {
        // Nothing in range by the bounds; they are inexact, so not quite nothing.
        return Some(1.0 / span.max(1.0));
    }
    Some((high.distance_u64(low)? as f64 / span).clamp(1.0 / span.max(1.0), 1.0))
}

/// A column's distinct values by its statistics: the counted ones, else an integer, date or
/// timestamp column's value range; `None` for other types or when unknown. Also the join
/// keys' count in join_estimates.rs.
pub(crate) fn column_distinct(column: &ColumnStatistics) -> Option<f64> {
    if let Some(&d) = column.distinct_count.get_value() {
        return Some(d as f64);
    }
    let (min, max) = (column.min_value.get_value()?, column.max_value.get_value()?);
    // A float column's range does not count its values.
    if min.data_type().is_floating() {
        return None;
    }
    Some(max.distance_u64(min)? as f64 + 1.0)
}

/// The Delta log's statistics of a scanned Abacus table.
fn table_stats(plan: &LogicalPlan) -> Option<Arc<TableStats>> {
    let LogicalPlan::TableScan(scan) = plan else {
        return None;
    };
    let provider = source_as_provider(&scan.source).ok()?;
    let with_stats = provider.as_ref().downcast_ref::<WithColumnStats>()?;
    Some(with_stats.stats.clone())
}

/// Distinct values of `column` in the table under `plan` (through aliases, filters and
/// plain-column projections), by `column_distinct`, at most the table's rows.
fn distinct(plan: &LogicalPlan, column: &Column) -> Option<f64> {
    match plan {
        LogicalPlan::SubqueryAlias(a) => distinct(&a.input, column),
        LogicalPlan::Filter(f) => distinct(&f.input, column),
        LogicalPlan::Projection(p) => {
            let plain = p
                .expr
                .iter()
                .any(|e| matches!(e, Expr::Column(c) if c.name == column.name));
            if plain {
                distinct(&p.input, column)
            } else {
                None
            }
        }
        LogicalPlan::TableScan(_) => {
            let stats = table_stats(plan)?;
            let rows = stats.rows? as f64;
            Some(column_distinct(stats.columns.get(&column.name)?)?.min(rows))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::test_util::{database, query_text};

    async fn with_tables(db: &crate::Database, tables: &[&str]) -> crate::Session {
        let session = db.session();
        for sql in tables {
            session.execute_one(sql).await.unwrap();
        }
        session
    }

    /// A three-month range of seven years keeps its part of the span; a condition the
    /// estimate cannot read keeps 20 %, once, whatever else is there.
    #[test]
    fn date_ranges_keep_their_part_of_the_span() {
        use super::{filtered_share, TableStats};
        use datafusion::common::stats::Precision;
        use datafusion::common::{ColumnStatistics, ScalarValue};
        use datafusion::logical_expr::{col, lit};
        let day = |d: i32| lit(ScalarValue::Date32(Some(d)));
        let bounds = ColumnStatistics {
            min_value: Precision::Inexact(ScalarValue::Date32(Some(8035))), // 1992-01-01
            max_value: Precision::Inexact(ScalarValue::Date32(Some(10591))), // 1998-12-31
            ..ColumnStatistics::new_unknown()
        };
        let stats = TableStats {
            rows: Some(15_000_000),
            columns: [("o_orderdate".to_string(), bounds)].into(),
            first_column_bounds: None,
            distinct: Default::default(),
            files: None,
        };
        // q10: 1993-10-01 ≤ o_orderdate < 1994-01-01, 92 of 2556 days.
        let q10 = col("o_orderdate")
            .gt_eq(day(8674))
            .and(col("o_orderdate").lt(day(8766)));
        let share = filtered_share(std::slice::from_ref(&q10), &stats);
        assert!((share - 92.0 / 2556.0).abs() < 1e-9, "{share}");
        // The same range as BETWEEN, and with an unreadable condition beside it.
        let between = col("o_orderdate").between(day(8674), day(8766));
        assert!((filtered_share(&[between], &stats) - share).abs() < 1e-9);
        let status = col("o_orderstatus").eq(lit("F"));
        let both = filtered_share(&[q10.and(status.clone())], &stats);
        assert!((both - share * 0.2).abs() < 1e-9, "{both}");
        assert!((filtered_share(&[status], &stats) - 0.2).abs() < 1e-9);
        // A counted string column: one value of its distinct ones, or as many as listed.
        stats
            .distinct
            .set([("o_orderstatus".into(), 3)].into())
            .unwrap();
        let one = filtered_share(&[col("o_orderstatus").eq(lit("F"))], &stats);
        assert!((one - 1.0 / 3.0).abs() < 1e-9, "{one}");
        let two = col("o_orderstatus").in_list(vec![lit("F"), lit("O")], false);
        assert!((filtered_share(&[two], &stats) - 2.0 / 3.0).abs() < 1e-9);
        // A bound past the column's range keeps everything on that side.
        let open = col("o_orderdate").lt(day(20000));
        assert!((filtered_share(&[open], &stats) - 1.0).abs() < 1e-9);
    }

    /// Every subtree's relations, sorted.
    fn groups(shape: &super::Shape, out: &mut Vec<Vec<usize>>) -> Vec<usize> {
        let mut leaves = match shape {
            super::Shape::Leaf(i) => vec![*i],
            super::Shape::Join(a, b) => {
                let mut l = groups(a, out);
                l.extend(groups(b, out));
                l
            }
        };
        leaves.sort();
        out.push(leaves.clone());
        leaves
    }

    /// TPC-H q5's estimates at SF10 (region, nation, supplier, customer, orders, lineitem):
    /// greedy, the order above 10 tables, joins the region's suppliers first; the search
    /// joins the region's customers first and supplier last.
    #[test]
    fn greedy_and_searched_orders_differ_on_q5() {
        let estimate = |rows: f64, keys: &[(usize, f64)]| super::Estimate {
            rows,
            ndv: keys.iter().copied().collect(),
            width: 8.0,
        };
        // Key classes: 0 region, 1 nation, 2 supplier, 3 customer, 4 order.
        let q5 = || {
            vec![
                estimate(1.0, &[(0, 1.0)]),
                estimate(25.0, &[(0, 5.0), (1, 25.0)]),
                estimate(100e3, &[(1, 25.0), (2, 100e3)]),
                estimate(1.5e6, &[(1, 25.0), (3, 1.5e6)]),
                estimate(3e6, &[(3, 1.5e6), (4, 3e6)]),
                estimate(60e6, &[(4, 60e6), (2, 100e3)]),
            ]
        };
        let mut greedy = Vec::new();
        groups(&super::greedy(q5()).unwrap(), &mut greedy);
        assert!(greedy.contains(&vec![0, 1, 2]), "{greedy:?}");
        let mut searched = Vec::new();
        groups(&super::cheapest(q5()).unwrap(), &mut searched);
        assert!(searched.contains(&vec![0, 1, 3]), "{searched:?}");
        assert!(searched.contains(&vec![0, 1, 3, 4, 5]), "{searched:?}");
    }

    /// How deep a table's scan sits in an EXPLAIN's logical plan (its indentation).
    fn scan_depth(plan: &str, table: &str) -> usize {
        let logical = plan.split("physical_plan").next().unwrap();
        let line = logical
            .lines()
            .find(|l| l.contains(&format!("TableScan: {table} ")))
            .unwrap_or_else(|| panic!("no scan of {table} in {plan}"));
        line.len() - line.trim_start_matches(['|', ' ']).len()
    }

    /// q9's shape in small: the query joins the large table first; the filtered dimension
    /// and its bridge table are joined before the large table is touched.
    #[tokio::test]
    async fn the_filtered_dimension_is_joined_before_the_large_table() {
        let (_dir, db) = database();
        let session = with_tables(
            &db,
            &[
                "CREATE TABLE facts AS SELECT value AS id, value % 20000 AS k FROM range(200000)",
                "CREATE TABLE bridge AS SELECT value AS k, value % 10 AS j FROM range(20000)",
                "CREATE TABLE dims AS SELECT value AS j, 'name' || value AS name FROM range(10)",
            ],
        )
        .await;
        let sql = "SELECT count(*) AS n, sum(facts.id) AS s FROM facts, bridge, dims \
                   WHERE facts.k = bridge.k AND bridge.j = dims.j AND dims.name = 'name3'";
        let plan = query_text(&session, &format!("EXPLAIN {sql}")).await;
        // bridge ⋈ dims is the inner join; facts joins last, one level up.
        assert!(
            scan_depth(&plan, "facts") < scan_depth(&plan, "bridge"),
            "{plan}"
        );
        let answer = query_text(&session, sql).await;
        // k ≡ 3 (mod 10): 2,000 keys, each held by 10 facts.
        assert!(answer.contains("| 20000 | 1999960000 |"), "{answer}");
    }

    /// q21's shape in small: a name picks one row of a small dimension. Counted (its names
    /// are distinct), the dimension's suppliers reach the large table first and the orders
    /// join last; at the default 20 % both trees cost alike, and the one written was kept.
    /// The last join then builds from the facts side (estimated 8K rows, against 10K orders
    /// of one status); DataFusion's own estimates keep 5 of the 25 names (40K facts rows)
    /// and built from the orders before join_estimates.rs.
    #[tokio::test]
    async fn a_small_tables_name_picks_the_tree_and_the_build_side() {
        let (_dir, db) = database();
        let session = with_tables(
            &db,
            &[
                "CREATE TABLE facts AS SELECT value AS id, value / 4 AS o, value % 1000 AS s \
                 FROM range(200000)",
                "CREATE TABLE ords AS SELECT value AS o, \
                 CASE WHEN value % 2 = 0 THEN 'F' ELSE 'O' END AS status FROM range(50000)",
                "CREATE TABLE sup AS SELECT value AS s, value % 25 AS j FROM range(1000)",
                "CREATE TABLE dims AS SELECT value AS j, 'n' || value AS name FROM range(25)",
            ],
        )
        .await;
        let sql = "SELECT count(*) AS n FROM facts, ords, sup, dims \
                   WHERE facts.o = ords.o AND ords.status = 'F' AND facts.s = sup.s \
                   AND sup.j = dims.j AND dims.name = 'n3'";
        let plan = query_text(&session, &format!("EXPLAIN {sql}")).await;
        let top_join = plan.lines().find(|l| l.contains("Inner Join:"));
        assert!(
            top_join.is_some_and(|l| l.contains("facts.o = ords.o")),
            "{plan}"
        );
        // A hash join lists its build side first.
        let physical = plan.split("physical_plan").nth(1).expect("a physical plan");
        let at = |table: &str| physical.find(&format!("/{table}/")).expect("a scan");
        assert!(at("facts") < at("ords"), "{plan}");
        let expected = (0..200_000u64)
            .filter(|v| (v % 1000) % 25 == 3 && (v / 4) % 2 == 0)
            .count();
        let answer = query_text(&session, sql).await;
        assert!(answer.contains(&format!("| {expected} |")), "{answer}");
    }

    /// q5's shape in small: the cheapest tree reaches the orders through the region's
    /// customers and joins supplier last; joining the region's suppliers first (the
    /// cheapest first step) leaves no small way to the customers.
    #[tokio::test]
    async fn the_cheapest_tree_is_chosen_not_the_cheapest_first_join() {
        let (_dir, db) = database();
        let session = with_tables(
            &db,
            &[
                "CREATE TABLE region AS SELECT value AS r_key, 'r' || value AS r_name FROM range(5)",
                "CREATE TABLE nation AS SELECT value AS n_key, value % 5 AS n_region FROM range(25)",
                "CREATE TABLE customer AS SELECT value AS c_key, value % 25 AS c_nation FROM range(1500)",
                "CREATE TABLE supplier AS SELECT value AS s_key, value % 25 AS s_nation FROM range(100)",
                "CREATE TABLE orders AS SELECT value AS o_key, value % 1500 AS o_cust FROM range(15000)",
                "CREATE TABLE lineitem AS SELECT value % 15000 AS l_order, value % 100 AS l_supp \
                 FROM range(60000)",
            ],
        )
        .await;
        let sql = "SELECT count(*) AS n FROM customer, orders, lineitem, supplier, nation, region \
                   WHERE c_key = o_cust AND l_order = o_key AND l_supp = s_key \
                   AND c_nation = s_nation AND s_nation = n_key AND n_region = r_key \
                   AND r_name = 'r2'";
        let plan = query_text(&session, &format!("EXPLAIN {sql}")).await;
        let top = plan.lines().find(|l| l.contains("Inner Join")).unwrap();
        assert!(top.contains("supplier."), "{plan}");
        assert!(
            scan_depth(&plan, "supplier") < scan_depth(&plan, "customer"),
            "{plan}"
        );
        let answer = query_text(&session, sql).await;
        // DuckDB counts the same.
        assert!(answer.contains("| 12000 |"), "{answer}");
    }

    /// The reordered tree answers with the query's own columns, in the query's order.
    #[tokio::test]
    async fn select_star_keeps_its_columns_in_order() {
        let (_dir, db) = database();
        let session = with_tables(
            &db,
            &[
                "CREATE TABLE a AS SELECT value AS ak, value % 100 AS ab FROM range(1000)",
                "CREATE TABLE b AS SELECT value AS bk, value % 5 AS bc FROM range(100)",
                "CREATE TABLE c AS SELECT value AS ck, 'c' || value AS cn FROM range(5)",
            ],
        )
        .await;
        let sql = "SELECT * FROM a, b, c WHERE a.ab = b.bk AND b.bc = c.ck AND c.cn = 'c1' \
                   ORDER BY ak LIMIT 2";
        let answer = query_text(&session, sql).await;
        assert!(
            answer.contains("| ak | ab | bk | bc | ck | cn |"),
            "{answer}"
        );
        assert!(
            answer.contains("| 1  | 1  | 1  | 1  | 1  | c1 |"),
            "{answer}"
        );
        assert!(
            answer.contains("| 6  | 6  | 6  | 1  | 1  | c1 |"),
            "{answer}"
        );
    }

    /// Two columns of one table in one equivalence class (a.x = b.y AND a.z = b.y) imply a
    /// filter on a: such a tree stays as written, and answers correctly.
    #[tokio::test]
    async fn a_tree_that_implies_a_filter_stays_as_written() {
        let (_dir, db) = database();
        let session = with_tables(
            &db,
            &[
                "CREATE TABLE a AS SELECT value AS x, value % 3 AS z FROM range(10)",
                "CREATE TABLE b AS SELECT value AS y FROM range(10)",
                "CREATE TABLE c AS SELECT value AS y2 FROM range(10)",
            ],
        )
        .await;
        let sql = "SELECT count(*) AS n FROM a, b, c WHERE a.x = b.y AND a.z = b.y AND b.y = c.y2";
        let answer = query_text(&session, sql).await;
        // x = z only for x in 0, 1, 2.
        assert!(answer.contains("| 3 |"), "{answer}");
    }
}
