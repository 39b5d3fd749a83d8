//! Hash joins' dynamic filters applied right at the Parquet scan, while they pay for themselves.
//!
//! A hash join hands the scan of its probe side a filter built from its build side: the keys'
//! range and their set when there are few (at most 150), else a lookup in its hash table.
//! With Parquet filter pushdown off, DataFusion 55 uses that filter only to skip files and
//! row groups, so every probe row still goes through repartitioning and the join; TPC-H q18
//! sends 6M lineitem rows along to find 399. Pushdown on is worse overall (every static filter
//! is then evaluated row by row in the decoder: q6 2.6× slower). And a filter is not always
//! worth evaluating twice: a hash-table lookup per row costs what the join's own probe does
//! (q4 1.35× slower when applied), and a filter that keeps most rows saves nothing.
//! DataFusion 55 has no per-filter or adaptive choice (written here for that reason): this rule
//! puts the dynamic filters in a filter on the scan, where each one measures itself. A key set
//! or range stays while it drops at least half of its first rows; a hash-table lookup stays
//! only where the rows it drops skip a join or aggregate (q18, q17), and it drops 9 in 10
//! (q7's customers drop 92 % of orders before they fill the hash table of the orders-lineitem
//! join: 825 MB of it at SF10). Integer build keys are checked in bitmaps instead
//! (build_keys.rs), and where those keep at most 1 % of a scan's rows, in the scan's Parquet
//! decoder (in_decoder.rs).

mod build_keys;
mod exec;
mod in_decoder;
mod key_bitmap;
mod selective;
mod sideways;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::config::ConfigOptions;
use datafusion::datasource::physical_plan::{FileScanConfig, FileSource, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::Result;
use datafusion::physical_expr::expressions::{Column, DynamicFilterPhysicalExpr};
use datafusion::physical_expr::utils::{reassign_expr_columns, split_conjunction};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::joins::HashJoinExec;
use datafusion::physical_plan::{ChildrenPropertiesMode, ExecutionPlan, ReplaceChildrenOptions};

use build_keys::{BuildKeys, BuildKeysExec, ProbeKeys};
use exec::DynamicFilterExec;
use selective::WhileSelective;

/// Puts the dynamic filters that reached a Parquet scan into a filter on that scan.
#[derive(Debug, Default)]
pub(crate) struct DynamicFilterScans;

impl PhysicalOptimizerRule for DynamicFilterScans {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        // With pushdown on, the decoder applies them already.
        if config.execution.parquet.pushdown_filters {
            return Ok(plan);
        }
        let mut skipping = HashMap::new();
        operators_skipped(&plan, &mut Vec::new(), &mut skipping);
        let from_hash_joins = hash_join_filters(&plan)?;
        let (plan, bitmaps, mut below_aggregates) = gather_build_keys(plan)?;
        plan.transform_up(|node| {
            let filters = scan_dynamic_filters(&node).unwrap_or_default();
            let below = below_aggregates.remove(&leaf_id(&node)).unwrap_or_default();
            if filters.is_empty() && below.is_empty() {
                return Ok(Transformed::no(node));
            }
            // The scan's predicate is bound to the file's columns; the filter sits on the
            // scan's output. A key the scan does not output leaves the scan as it was.
            let schema = node.schema();
            let Ok(filters) = filters
                .into_iter()
                .map(|f| reassign_expr_columns(f, &schema))
                .collect::<Result<Vec<_>>>()
            else {
                return Ok(Transformed::no(node));
            };
            // Each judged on its own: one join's hash lookup must not switch off another's
            // key set (q18's lineitem scan gets both).
            let filters = filters
                .into_iter()
                .map(|f| {
                    let skips = f
                        .expression_id()
                        .and_then(|id| skipping.get(&id))
                        .is_some_and(|&n| n > 0);
                    let waits = f
                        .expression_id()
                        .is_some_and(|id| from_hash_joins.contains(&id));
                    let mut filter = WhileSelective::new(f.clone(), skips);
                    if let Some(probe) = f
                        .expression_id()
                        .and_then(|id| bitmaps.get(&id))
                        .and_then(|build| probe_keys(&f, build, &schema))
                    {
                        filter = filter.with_bitmaps(probe);
                    }
                    Arc::new(if waits {
                        filter.waiting_for_its_join()
                    } else {
                        filter
                    })
                })
                .chain(
                    below
                        .into_iter()
                        .map(|probe| Arc::new(WhileSelective::build_keys_only(probe))),
                )
                .collect();
            let filter = DynamicFilterExec::new(node, filters);
            Ok(Transformed::yes(Arc::new(filter) as Arc<dyn ExecutionPlan>))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "dynamic_filter_scans"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// For each dynamic filter that reaches a scan: how many joins and aggregates lie between the
/// join that makes it and the scan (the fewest, if it reaches several). Rows it drops at the
/// scan skip those operators; with none in between they skip only a repartition, which costs
/// about what a hash-table lookup per row does.
fn operators_skipped(
    node: &Arc<dyn ExecutionPlan>,
    above: &mut Vec<(u64, usize)>,
    out: &mut HashMap<u64, usize>,
) {
    if let Some(filters) = scan_dynamic_filters(node) {
        for id in filters.iter().filter_map(|f| f.expression_id()) {
            if let Some(&(_, n)) = above.iter().find(|(made, _)| *made == id) {
                let fewest = out.entry(id).or_insert(n);
                *fewest = (*fewest).min(n);
            }
        }
        return;
    }
    let name = node.name();
    let heavy = name.ends_with("JoinExec") || name.starts_with("Aggregate");
    let depth = above.len();
    if heavy {
        above.iter_mut().for_each(|(_, n)| *n += 1);
    }
    above.extend(
        node.dynamic_expressions_produced()
            .iter()
            .filter_map(|e| e.expression_id())
            .map(|id| (id, 0)),
    );
    for child in node.children() {
        operators_skipped(child, above, out);
    }
    above.truncate(depth);
    if heavy {
        above.iter_mut().for_each(|(_, n)| *n -= 1);
    }
}

/// Each join's build keys, by the id of the join's dynamic filter.
type BuildKeysById = HashMap<u64, Arc<BuildKeys>>;

/// Per scan (`leaf_id`): probe keys of joins whose own filter does not reach it (sideways.rs).
type ProbeKeysByScan = HashMap<usize, Vec<ProbeKeys>>;

/// The plan's scans by `leaf_id`: how often each occurs, and the ids of the dynamic
/// filters on it.
type Scans = HashMap<usize, (usize, HashSet<u64>)>;

/// A plan node's identity while the plan is rewritten: scans are leaves, kept as they are.
fn leaf_id(node: &Arc<dyn ExecutionPlan>) -> usize {
    Arc::as_ptr(node) as *const () as usize
}

/// Puts a `BuildKeysExec` above the build side of each hash join with an integer key whose
/// dynamic filter reaches a scan, or whose probe key is a column of a scan its filter does
/// not reach (below an aggregate); returns the plan, per filter id the join's build keys,
/// and per such scan the probe keys to check against them.
fn gather_build_keys(
    plan: Arc<dyn ExecutionPlan>,
) -> Result<(Arc<dyn ExecutionPlan>, BuildKeysById, ProbeKeysByScan)> {
    let mut scans = Scans::new();
    plan.apply(|node| {
        if node.children().is_empty() {
            let filters = scan_dynamic_filters(node).unwrap_or_default();
            let scan = scans.entry(leaf_id(node)).or_default();
            scan.0 += 1;
            scan.1 = filters.iter().filter_map(|f| f.expression_id()).collect();
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    let at_scans: HashSet<u64> = scans.values().flat_map(|(_, ids)| ids).copied().collect();
    let mut bitmaps = HashMap::new();
    let mut below_aggregates: ProbeKeysByScan = HashMap::new();
    let plan = plan
        .transform_up(|node| {
            let Some(join) = node.downcast_ref::<HashJoinExec>() else {
                return Ok(Transformed::no(node));
            };
            let made = node.dynamic_expressions_produced();
            let made: Vec<u64> = made.iter().filter_map(|e| e.expression_id()).collect();
            let id = made.iter().copied().find(|id| at_scans.contains(id));
            let left = join.left().schema();
            let keys: Vec<_> = join
                .on()
                .iter()
                .map(|(l, _)| key_bitmap::bitmap_key(l, &left))
                .collect();
            if keys.iter().all(Option::is_none) {
                return Ok(Transformed::no(node));
            }
            let targets = below_aggregate_targets(join, &keys, &made, &scans);
            if id.is_none() && targets.is_empty() {
                return Ok(Transformed::no(node));
            }
            let build = BuildKeysExec::new(Arc::clone(join.left()), keys);
            if let Some(id) = id {
                bitmaps.insert(id, Arc::clone(build.build_keys()));
            }
            for (scan, i, key) in targets {
                let mut exprs = vec![None; join.on().len()];
                exprs[i] = Some(key);
                let build = Arc::clone(build.build_keys());
                below_aggregates
                    .entry(scan)
                    .or_default()
                    .push(ProbeKeys { exprs, build });
            }
            let right = Arc::clone(join.right());
            // The build side's properties are its input's: the join's stay as they were.
            let keep = ReplaceChildrenOptions::new(ChildrenPropertiesMode::Keep);
            let node = Arc::clone(&node).replace_children(vec![Arc::new(build), right], keep)?;
            Ok(Transformed::yes(node))
        })?
        .data;
    Ok((plan, bitmaps, below_aggregates))
}

/// The join's probe keys that are a column of a scan its own filters (`made`) do not reach
/// and that has a bitmap (sideways.rs): per key, the scan, the key's index in the join and
/// its column in the scan. A scan that occurs twice in the plan is left alone.
fn below_aggregate_targets(
    join: &HashJoinExec,
    keys: &[Option<Arc<dyn PhysicalExpr>>],
    made: &[u64],
    scans: &Scans,
) -> Vec<(usize, usize, Arc<dyn PhysicalExpr>)> {
    if !sideways::drops_unmatched_probe_rows(join) {
        return Vec::new();
    }
    let mut targets = Vec::new();
    for (i, (_, probe)) in join.on().iter().enumerate() {
        let Some(column) = probe.downcast_ref::<Column>() else {
            continue;
        };
        let Some((scan, at)) = sideways::column_source(join.right(), column.index()) else {
            continue;
        };
        let schema = scan.schema();
        let key: Arc<dyn PhysicalExpr> = Arc::new(Column::new(schema.field(at).name(), at));
        let alone = scans
            .get(&leaf_id(&scan))
            .is_some_and(|(count, ids)| *count == 1 && !made.iter().any(|id| ids.contains(id)));
        if let (true, Some(_), Some(key)) = (alone, &keys[i], key_bitmap::bitmap_key(&key, &schema))
        {
            targets.push((leaf_id(&scan), i, key));
        }
    }
    targets
}

/// The probe-side keys of a join's dynamic filter at a scan (its children, in the join's
/// key order, bound to the scan's columns), for the keys with a bitmap.
fn probe_keys(
    filter: &Arc<dyn PhysicalExpr>,
    build: &Arc<BuildKeys>,
    schema: &datafusion::arrow::datatypes::SchemaRef,
) -> Option<ProbeKeys> {
    let exprs: Vec<_> = filter
        .children()
        .into_iter()
        .map(|e| key_bitmap::bitmap_key(e, schema))
        .collect();
    exprs.iter().any(Option::is_some).then(|| ProbeKeys {
        exprs,
        build: Arc::clone(build),
    })
}

/// The ids of the dynamic filters that hash joins make.
fn hash_join_filters(plan: &Arc<dyn ExecutionPlan>) -> Result<HashSet<u64>> {
    let mut ids = HashSet::new();
    plan.apply(|node| {
        if node.downcast_ref::<HashJoinExec>().is_some() {
            let made = node.dynamic_expressions_produced();
            ids.extend(made.iter().filter_map(|e| e.expression_id()));
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    Ok(ids)
}

/// The dynamic filters in the predicate of a Parquet scan, if `node` is one.
fn scan_dynamic_filters(node: &Arc<dyn ExecutionPlan>) -> Option<Vec<Arc<dyn PhysicalExpr>>> {
    let scan = node
        .downcast_ref::<DataSourceExec>()?
        .data_source()
        .downcast_ref::<FileScanConfig>()?;
    let predicate = scan
        .file_source()
        .downcast_ref::<ParquetSource>()?
        .filter()?;
    let dynamic: Vec<_> = split_conjunction(&predicate)
        .into_iter()
        .filter(|c| c.downcast_ref::<DynamicFilterPhysicalExpr>().is_some())
        .cloned()
        .collect();
    (!dynamic.is_empty()).then_some(dynamic)
}

#[cfg(test)]
mod tests {
    use crate::test_util::session_after;

    #[tokio::test]
    async fn a_join_filters_its_probe_scan_and_answers_the_same() {
        let (_dir, _db, session) = session_after(&[
            "CREATE TABLE big AS SELECT value AS k, value % 7 AS v FROM range(200000)",
            "CREATE TABLE few AS SELECT value * 1000 AS k FROM range(10)",
        ])
        .await;
        let session = &session;
        let text =
            move |sql: String| async move { crate::test_util::query_text(session, &sql).await };
        let explain = |sql: &str| text(format!("EXPLAIN ANALYZE {sql}"));
        let sql = "SELECT count(*), sum(big.v) FROM big JOIN few ON big.k = few.k";
        let plan = explain(sql).await;
        assert_eq!(filter_output_rows(&plan), [10.0], "{plan}");
        let answer = text(sql.into()).await;
        assert!(answer.contains("| 10       | 32         |"), "{answer}");
        // 1000 keys make the filter a hash-table lookup. Right below its join it would only
        // save a repartition, so it steps aside after the first batch it filtered; an
        // integer key is checked in a bitmap of the build keys instead, which stays.
        let sql = "SELECT count(*) FROM big \
                   JOIN (SELECT k FROM big WHERE k % 200 = 0) AS picked ON big.k = picked.k";
        let plan = explain(sql).await;
        assert!(plan.contains("BuildKeysExec: bitmaps=[k@0]"), "{plan}");
        assert_eq!(filter_output_rows(&plan), [1000.0], "{plan}");
        let answer = text(sql.into()).await;
        assert!(answer.contains("| 1000     |"), "{answer}");
        let sql = "SELECT count(*) FROM (SELECT CAST(k AS VARCHAR) AS s FROM big) AS b \
                   JOIN (SELECT CAST(k AS VARCHAR) AS s FROM big WHERE k % 200 = 0) AS picked \
                   ON b.s = picked.s";
        let plan = explain(sql).await;
        assert!(!plan.contains("BuildKeysExec"), "{plan}");
        let kept = filter_output_rows(&plan);
        assert!(kept.len() == 1 && kept[0] > 190_000.0, "{plan}");
        let answer = text(sql.into()).await;
        assert!(answer.contains("| 1000     |"), "{answer}");
        // The same lookup below another join (TPC-H q18's shape) drops 99.5 % of the rows
        // before that join: it stays. That join's build side starts reading before the
        // lookup is built, and waits for it: no row passes unfiltered.
        let sql = "SELECT count(*) FROM big AS a JOIN big AS b ON a.k = b.k \
                   WHERE a.k IN (SELECT k FROM big WHERE k % 200 = 0)";
        let plan = explain(sql).await;
        assert!(filter_output_rows(&plan).contains(&1000.0), "{plan}");
        let answer = text(sql.into()).await;
        assert!(answer.contains("| 1000     |"), "{answer}");
        // One that drops 11 rows in 12 there (TPC-H q7's customers on orders) stays too.
        let sql = "SELECT count(*) FROM big AS a JOIN big AS b ON a.k = b.k \
                   WHERE a.k IN (SELECT k FROM big WHERE k % 12 = 0)";
        let plan = explain(sql).await;
        let kept = filter_output_rows(&plan);
        assert!(kept.contains(&16_670.0), "{plan}");
        let answer = text(sql.into()).await;
        assert!(answer.contains("| 16667    |"), "{answer}");
        // A TopK's filter tightens while the scan runs and is complete only at its end: the
        // scan must not wait for it.
        let sql = "SELECT k FROM big ORDER BY k DESC LIMIT 2";
        let topk = tokio::time::timeout(std::time::Duration::from_secs(60), text(sql.into()));
        let answer = topk.await.expect("a TopK query finishes");
        assert!(answer.contains("| 199999 |"), "{answer}");
    }

    /// A partitioned join builds one table per partition, and its keys' bitmap gathers all of
    /// them: complete only when every partition has built, then it filters the probe scan.
    #[tokio::test]
    async fn a_partitioned_join_filters_with_every_partitions_keys() {
        let (_dir, _db, session) = session_after(&[
            "CREATE TABLE big AS SELECT value AS k, value % 7 AS v FROM range(200000)",
            "SET datafusion.optimizer.hash_join_single_partition_threshold = 0",
            "SET datafusion.optimizer.hash_join_single_partition_threshold_rows = 0",
        ])
        .await;
        let sql = "SELECT count(*), sum(big.v) FROM big \
                   JOIN (SELECT k FROM big WHERE k % 200 = 0) AS picked ON big.k = picked.k";
        let plan = crate::test_util::query_text(&session, &format!("EXPLAIN ANALYZE {sql}")).await;
        assert!(plan.contains("mode=Partitioned"), "{plan}");
        assert!(plan.contains("BuildKeysExec"), "{plan}");
        assert_eq!(filter_output_rows(&plan), [1000.0], "{plan}");
        // k = 200·i: v = 200·i mod 7 = 4·i mod 7, summed over i < 1000.
        let expected: u64 = (0..1000u64).map(|i| (200 * i) % 7).sum();
        let answer = crate::test_util::query_text(&session, sql).await;
        assert!(
            answer.contains(&format!("| 1000     | {expected}")),
            "{answer}"
        );
    }

    /// A join on a key and an aggregate's result (TPC-H q2's shape): its dynamic filter
    /// stops at the aggregate, but the key is the aggregate's group key, a column of the scan
    /// below it, where the join's build keys drop the rows no build row joins before they
    /// are grouped. Not below a join that keeps unmatched probe rows, nor a `NOT IN`.
    #[tokio::test]
    async fn build_keys_filter_the_scan_below_an_aggregate() {
        let (_dir, _db, session) = session_after(&[
            "CREATE TABLE big AS SELECT value AS k, value % 7 AS v FROM range(200000)",
            "CREATE TABLE few AS SELECT value * 1000 AS k, (value * 1000) % 7 AS v \
             FROM range(10)",
        ])
        .await;
        let session = &session;
        let text =
            move |sql: String| async move { crate::test_util::query_text(session, &sql).await };
        let sql = "SELECT count(*), sum(few.k) FROM few \
                   JOIN (SELECT k, min(v) AS m FROM big GROUP BY k) AS g \
                   ON few.k = g.k AND few.v = g.m";
        let plan = text(format!("EXPLAIN ANALYZE {sql}")).await;
        assert!(plan.contains("in_build_keys(k@0)"), "{plan}");
        assert_eq!(filter_output_rows(&plan), [10.0], "{plan}");
        let answer = text(sql.into()).await;
        assert!(answer.contains("| 10       | 45000      |"), "{answer}");
        // A right join keeps every group: nothing is dropped below it.
        let sql = "SELECT count(*), count(few.k) FROM few \
                   RIGHT JOIN (SELECT k, min(v) AS m FROM big GROUP BY k) AS g \
                   ON few.k = g.k AND few.v = g.m";
        let plan = text(format!("EXPLAIN ANALYZE {sql}")).await;
        assert!(!plan.contains("in_build_keys"), "{plan}");
        let answer = text(sql.into()).await;
        assert!(answer.contains("| 200000   | 10 "), "{answer}");
        // `NOT IN` keeps a NULL only when its subquery is empty: a filter that emptied the
        // subquery (no key of `far` is in `big`) would keep it. Left as it was.
        let create = "CREATE TABLE far AS \
                      SELECT CASE WHEN value = 0 THEN NULL ELSE value + 500000 END AS k \
                      FROM range(11)";
        session.execute_one(create).await.unwrap();
        let sql = "SELECT count(*) FROM far WHERE k NOT IN (SELECT k FROM big GROUP BY k)";
        let plan = text(format!("EXPLAIN ANALYZE {sql}")).await;
        assert!(!plan.contains("in_build_keys"), "{plan}");
        let answer = text(sql.into()).await;
        assert!(answer.contains("| 10       |"), "{answer}");
    }

    /// Under a memory limit a bitmap that does not fit is dropped, not the query: keys 12
    /// blocks apart need 8 MiB of bitmap, over a 4 MiB limit. The probe scan is then filtered
    /// as without bitmaps (a hash lookup right below its join steps aside).
    #[tokio::test]
    async fn a_bitmap_over_the_memory_limit_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let config = crate::Config {
            memory_limit: Some(4 << 20),
            ..Default::default()
        };
        let db = crate::Database::open(dir.path(), config).unwrap();
        let session = db.session();
        let create = "CREATE TABLE big AS SELECT value * 4096 AS k FROM range(200000)";
        session.execute_one(create).await.unwrap();
        let sql = "SELECT count(*) FROM big \
                   JOIN (SELECT k FROM big WHERE k % 819200 = 0) AS picked ON big.k = picked.k";
        let plan = crate::test_util::query_text(&session, &format!("EXPLAIN ANALYZE {sql}")).await;
        assert!(plan.contains("bitmap_bytes=0"), "{plan}");
        let kept = filter_output_rows(&plan);
        assert!(kept.len() == 1 && kept[0] > 190_000.0, "{plan}");
        let answer = crate::test_util::query_text(&session, sql).await;
        assert!(answer.contains("| 1000     |"), "{answer}");
    }

    /// Rows out of each dynamic filter on a scan, in an EXPLAIN ANALYZE (`10`, `191.8 K`).
    /// A join whose build keys are 10 of the probe column's 200K values has them checked in
    /// the scan's Parquet decoder; one whose keys are 5 % of them does not (in_decoder.rs).
    /// The answers are the same either way.
    #[tokio::test]
    async fn few_build_keys_are_checked_in_the_decoder() {
        let (_dir, _db, session) = session_after(&[
            "CREATE TABLE big AS SELECT value AS k, value % 7 AS v FROM range(200000)",
            "CREATE TABLE few AS SELECT value * 1000 AS k FROM range(10)",
        ])
        .await;
        let in_decoder = |plan: &str| -> usize {
            plan.split("filtered_in_decoder=")
                .skip(1)
                .filter_map(|rest| rest[..rest.find([',', ']'])?].parse::<usize>().ok())
                .sum()
        };
        let sql = "SELECT count(*), sum(big.v) FROM big JOIN few ON big.k = few.k";
        let plan = crate::test_util::query_text(&session, &format!("EXPLAIN ANALYZE {sql}")).await;
        assert!(in_decoder(&plan) > 0, "{plan}");
        assert_eq!(filter_output_rows(&plan), [10.0], "{plan}");
        let answer = crate::test_util::query_text(&session, sql).await;
        assert!(answer.contains("| 10       | 32         |"), "{answer}");
        let sql = "SELECT count(*), sum(big.v) FROM big \
                   JOIN (SELECT k FROM big WHERE k % 20 = 0) AS picked ON big.k = picked.k";
        let plan = crate::test_util::query_text(&session, &format!("EXPLAIN ANALYZE {sql}")).await;
        assert!(plan.contains("filtered_in_decoder=0"), "{plan}");
        assert_eq!(in_decoder(&plan), 0, "{plan}");
        let expected: u64 = (0..10_000u64).map(|i| (20 * i) % 7).sum();
        let answer = crate::test_util::query_text(&session, sql).await;
        assert!(
            answer.contains(&format!("| 10000    | {expected}")),
            "{answer}"
        );
    }

    fn filter_output_rows(plan: &str) -> Vec<f64> {
        let rows = |line: &str| {
            let value = line.split("output_rows=").nth(1)?;
            let value = &value[..value.find([',', ']'])?];
            let (number, scale) = match value.split_once(' ') {
                Some((n, "K")) => (n, 1e3),
                Some((n, "M")) => (n, 1e6),
                _ => (value, 1.0),
            };
            Some(number.parse::<f64>().ok()? * scale)
        };
        plan.lines()
            .filter(|l| l.contains("DynamicFilterExec: "))
            .filter_map(rows)
            .collect()
    }
}
