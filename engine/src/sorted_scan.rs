//! Scans of tables whose files all ascend by their first column declare that order.
//!
//! The catalog records which files are in order (abacus-catalog's sort_order.rs). Given
//! that, and each file's min and max of the column from the Delta log, the files are put
//! in key order into one group per partition, so every partition reads ascending keys, and
//! the scan says so. DataFusion then aggregates, joins and sorts by that key as the rows
//! stream: TPC-H q18's 15M-group aggregate over `lineitem` (BENCHMARKS.md, change 18).
//! DataFusion checks the order against each group's file bounds again (a group's files
//! must not overlap), so bounds that do not allow it leave the scan unordered.

use std::sync::Arc;

use datafusion::arrow::compute::SortOptions;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::stats::Precision;
use datafusion::common::{ColumnStatistics, ScalarValue, SplitPoint, Statistics};
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfig, FileScanConfigBuilder};
use datafusion::datasource::source::DataSourceExec;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr::{LexOrdering, Partitioning, PhysicalSortExpr, RangePartitioning};
use datafusion::physical_plan::ExecutionPlan;

use crate::plain_scan::{KeyWindow, PlainScanExec};
use crate::scan_stats::TableStats;

/// `plan`, a plain scan of a table whose files all ascend by `column` (the table's first),
/// reading its files in that order in up to `partitions` groups and declaring it; `plan`
/// as it is when the files' bounds are not all known or overlap.
pub(crate) fn declare(
    plan: Arc<dyn ExecutionPlan>,
    column: &str,
    stats: &TableStats,
    partitions: usize,
) -> Arc<dyn ExecutionPlan> {
    in_order(&plan, column, stats, partitions).unwrap_or(plan)
}

fn in_order(
    plan: &Arc<dyn ExecutionPlan>,
    column: &str,
    stats: &TableStats,
    partitions: usize,
) -> Option<Arc<dyn ExecutionPlan>> {
    let scan = plan.downcast_ref::<PlainScanExec>()?;
    let (config, files) = ordered_files(scan, column, stats)?;
    let columns = config.file_schema().fields().len();
    let groups = groups(files, columns, partitions)?;
    Some(rescan(
        scan,
        config,
        groups,
        key_ordering(column),
        None,
        None,
    ))
}

/// `scan`, a plain scan of a table whose files all ascend by its first column, reading
/// its files in key order in up to `partitions` groups of neighbouring keys, no key in two,
/// and declaring both: each partition ascends, and holds one range of keys. DataFusion
/// then aggregates by the key without moving rows between partitions (key_ranges.rs).
/// `None` when the bounds are not all known, a key could fall in two groups, or whole files
/// cannot be cut into groups within `MAX_RANGE_IMBALANCE` of an even share of the bytes.
/// Where two groups meet inside a key's rows, each partition keeps only its window.
pub(crate) fn key_ranges(
    scan: &PlainScanExec,
    partitions: usize,
) -> Option<Arc<dyn ExecutionPlan>> {
    let key = scan.key_order()?;
    let (config, files) = ordered_files(scan, &key.column, &key.stats)?;
    let columns = config.file_schema().fields().len();
    // A cut may fall inside a key's rows only where the scan can window them: an integer
    // key, the scan's first column.
    let integer_key = scan.schema().fields().first().is_some_and(|f| {
        f.name() == &key.column && matches!(f.data_type(), DataType::Int64 | DataType::Int32)
    });
    let (groups, split_points, windows) =
        ranges(files, columns, partitions, threads(), integer_key)?;
    let ordering = key_ordering(&key.column);
    let partitioning =
        Partitioning::Range(RangePartitioning::try_new(ordering.clone(), split_points).ok()?);
    Some(rescan(
        scan,
        config,
        groups,
        ordering,
        Some(partitioning),
        windows,
    ))
}

/// `scan` reading `groups` of its files, each group in `ordering`, as `partitioning` says,
/// each keeping its key window, if any.
fn rescan(
    scan: &PlainScanExec,
    config: &FileScanConfig,
    groups: Vec<FileGroup>,
    ordering: LexOrdering,
    partitioning: Option<Partitioning>,
    windows: Option<Vec<KeyWindow>>,
) -> Arc<dyn ExecutionPlan> {
    let config = FileScanConfigBuilder::from(config.clone())
        .with_file_groups(groups)
        .with_output_ordering(vec![ordering])
        .with_output_partitioning(partitioning)
        .build();
    Arc::new(
        scan.with_input(DataSourceExec::from_data_source(config))
            .windowed(windows),
    )
}

/// Ascending by the table's first column, nulls (of which there are none) last.
fn key_ordering(column: &str) -> LexOrdering {
    LexOrdering::new([PhysicalSortExpr::new(
        Arc::new(Column::new(column, 0)),
        SortOptions {
            descending: false,
            nulls_first: false,
        },
    )])
    .expect("one sort expression")
}

/// The scan's Parquet config and its files, each whole with its bounds of `column` (the
/// table's first, fixed-width) from the log; `None` when any of that is missing.
fn ordered_files<'a>(
    scan: &'a PlainScanExec,
    column: &str,
    stats: &TableStats,
) -> Option<(&'a FileScanConfig, Vec<BoundedFile>)> {
    let bounds = stats.first_column_bounds.as_ref()?;
    let config = scan
        .input()
        .downcast_ref::<DataSourceExec>()
        .and_then(|s| s.data_source().downcast_ref::<FileScanConfig>())?;
    let first = config.file_schema().fields().first()?;
    // Fixed-width keys only: the Delta log may cut a long string's max short, and a bound
    // below a file's true max could hide an overlap.
    if first.name() != column || first.data_type().primitive_width().is_none() {
        return None;
    }
    // Every file whole, with its bounds from the log, which names it relative to the
    // table's folder: looked up by the location's trailing path segments.
    let mut files = Vec::new();
    for file in config.file_groups.iter().flat_map(|g| g.iter()) {
        if file.range.is_some() {
            return None;
        }
        let location = file.object_meta.location.as_ref();
        let (min, max) = std::iter::once(location)
            .chain(location.match_indices('/').map(|(i, _)| &location[i + 1..]))
            .find_map(|path| bounds.get(path))?;
        files.push((min.clone(), max.clone(), file.clone()));
    }
    (!files.is_empty()).then_some((config, files))
}

/// A file with its min and max of the key.
type BoundedFile = (ScalarValue, ScalarValue, PartitionedFile);

/// Runs of files (`ranges`): their groups, the split points between them, and the key
/// windows they keep, when a cut falls inside a key's rows.
type Runs<Split> = (Vec<FileGroup>, Vec<Split>, Option<Vec<KeyWindow>>);

/// Files per partition below which no order is declared (see `groups`).
const MIN_FILES_PER_GROUP: usize = 4;

/// The largest group may hold this much more than an even share of the bytes.
const MAX_IMBALANCE: f64 = 1.1;

/// As `MAX_IMBALANCE`, for groups of neighbouring files (`ranges`): they are asked for
/// only by an aggregate on the key, which they spare a hash table of every key and the
/// exchange of rows between partitions, worth more than the last core's share of the scan.
const MAX_RANGE_IMBALANCE: f64 = 1.25;

/// `files` sorted by their min; `None` when two bounds do not compare.
fn sorted(mut files: Vec<BoundedFile>) -> Option<Vec<BoundedFile>> {
    let mut incomparable = false;
    files.sort_by(|a, b| {
        a.0.partial_cmp(&b.0).unwrap_or_else(|| {
            incomparable = true;
            std::cmp::Ordering::Equal
        })
    });
    (!incomparable).then_some(files)
}

/// `file` carrying its bounds of the key (column 0 of `columns`), which DataFusion checks a
/// declared order against, and whatever else the scan knows of it (it prunes files with it).
fn with_bounds(
    min: ScalarValue,
    max: ScalarValue,
    file: PartitionedFile,
    columns: usize,
) -> PartitionedFile {
    let mut stats = file
        .statistics
        .as_deref()
        .cloned()
        .unwrap_or_else(|| Statistics {
            num_rows: Precision::Absent,
            total_byte_size: Precision::Absent,
            column_statistics: vec![ColumnStatistics::new_unknown(); columns],
        });
    if stats.column_statistics.len() < columns {
        stats
            .column_statistics
            .resize(columns, ColumnStatistics::new_unknown());
    }
    stats.column_statistics[0] = ColumnStatistics {
        min_value: Precision::Inexact(min),
        max_value: Precision::Inexact(max),
        null_count: Precision::Exact(0),
        ..ColumnStatistics::new_unknown()
    };
    file.with_statistics(Arc::new(stats))
}

/// The files in key order, dealt to `partitions` groups, each file to the group with the
/// fewest bytes so far: every group ascends, and the groups read neighbouring key ranges at
/// the same time. That matters because DataFusion merges the groups by key (an
/// order-preserving repartition) above an aggregate on the key: with each group one run
/// of the key range (byte ranges cut like an unordered scan's), the merge held the second
/// group back until the first was done, and TPC-H q3 ran 1.6x slower. Whole files cannot
/// always be dealt evenly (5 files make 3 + 2: q11 1.3x slower), so `None` (no order) with
/// fewer than `MIN_FILES_PER_GROUP` files per group or a group over `MAX_IMBALANCE` of its
/// share; also when two files overlap beyond a shared boundary key or bounds do not compare.
fn groups(files: Vec<BoundedFile>, columns: usize, partitions: usize) -> Option<Vec<FileGroup>> {
    let partitions = partitions.max(1);
    if partitions > 1 && files.len() < MIN_FILES_PER_GROUP * partitions {
        return None;
    }
    let files = sorted(files)?;
    for pair in files.windows(2) {
        if pair[0].1.partial_cmp(&pair[1].0)? == std::cmp::Ordering::Greater {
            return None;
        }
    }
    let total: u64 = files.iter().map(|(_, _, f)| f.object_meta.size).sum();
    let mut groups: Vec<(u64, Vec<PartitionedFile>)> = vec![(0, Vec::new()); partitions];
    for (min, max, file) in files {
        let size = file.object_meta.size;
        let group = groups.iter_mut().min_by_key(|(bytes, _)| *bytes)?;
        group.0 += size;
        group.1.push(with_bounds(min, max, file, columns));
    }
    let largest = groups.iter().map(|(bytes, _)| *bytes).max()? as f64;
    if largest > MAX_IMBALANCE * total as f64 / partitions as f64 {
        return None;
    }
    Some(groups.into_iter().map(|(_, f)| FileGroup::new(f)).collect())
}

/// The threads that run a plan's partitions: the runtime's workers, 1 outside one.
fn threads() -> usize {
    tokio::runtime::Handle::try_current().map_or(1, |h| h.metrics().num_workers())
}

/// The files in key order, cut into up to `partitions` runs of neighbouring files, the
/// first key of every run after the first, and the runs' key windows when a cut needs them.
/// A cut goes between files whose keys do not meet (the first one's max below the next
/// one's min) or, for an integer key the scan can window, between files that share their
/// boundary key: a writer that rolls files at row groups leaves one wherever an order's
/// lines straddle the roll (BENCHMARKS.md, change 32). No key is in two runs' windows; each
/// cut is the allowed one nearest an even share of the bytes. Runs fewer than `partitions`
/// but not than `threads` are followed by empty ones. `None` when files overlap, fewer than
/// two runs can be cut, or than `threads`, or a run holds over `MAX_RANGE_IMBALANCE` of its
/// share. The share is of the `threads` that run the runs, when fewer than them: 3 runs of
/// 104, 104 and 24 MB (SF1 lineitem) take 2 threads no longer than 116 MB each would.
fn ranges(
    files: Vec<BoundedFile>,
    columns: usize,
    partitions: usize,
    threads: usize,
    integer_key: bool,
) -> Option<Runs<SplitPoint>> {
    let files = sorted(files)?;
    // Where a run may start: `Some(None)` between files whose keys do not meet,
    // `Some(Some(k))` between files that share key `k` (integer keys whose rows of `k` end
    // inside the later file: the run before reads them from that file's start, the run
    // after skips them).
    let mut cuttable: Vec<Option<Option<i64>>> = vec![None; files.len()];
    for (i, pair) in files.windows(2).enumerate() {
        match pair[0].1.partial_cmp(&pair[1].0)? {
            std::cmp::Ordering::Greater => return None,
            std::cmp::Ordering::Less => cuttable[i + 1] = Some(None),
            std::cmp::Ordering::Equal => {
                let shared = integer(&pair[0].1).filter(|&k| {
                    integer_key && k < i64::MAX && integer(&pair[1].1).is_some_and(|m| m > k)
                });
                if let Some(k) = shared {
                    cuttable[i + 1] = Some(Some(k));
                }
            }
        }
    }
    // Bytes before each file, and in all.
    let mut before = Vec::with_capacity(files.len() + 1);
    let mut total = 0u64;
    for (_, _, file) in &files {
        before.push(total);
        total += file.object_meta.size;
    }
    let mut cuts = Vec::new();
    for p in 1..partitions.max(1) {
        let target = total as f64 * p as f64 / partitions as f64;
        let after = cuts.last().copied().unwrap_or(0);
        let best = (after + 1..files.len())
            .filter(|&i| cuttable[i].is_some())
            .min_by(|&a, &b| {
                let distance = |i: usize| (before[i] as f64 - target).abs();
                distance(a).total_cmp(&distance(b))
            });
        if let Some(i) = best {
            cuts.push(i);
        }
    }
    cuts.dedup();
    if cuts.is_empty() {
        return None;
    }
    let runs = cuts.len() + 1;
    let mut bounds = vec![0];
    bounds.extend(&cuts);
    bounds.push(files.len());
    let largest = bounds
        .windows(2)
        .map(|w| {
            files[w[0]..w[1]]
                .iter()
                .map(|(_, _, f)| f.object_meta.size)
                .sum::<u64>()
        })
        .max()? as f64;
    let sharing = runs.min(threads.max(1));
    if largest > MAX_RANGE_IMBALANCE * total as f64 / sharing as f64 {
        return None;
    }
    let shared: Vec<Option<i64>> = cuts.iter().map(|&i| cuttable[i].flatten()).collect();
    let mut split_points = cuts
        .iter()
        .zip(&shared)
        .map(|(&i, shared)| {
            let first = match shared {
                // The run holds the keys after the shared one, its file's min.
                Some(_) => {
                    let min = &files[i].0;
                    min.add_checked(ScalarValue::new_one(&min.data_type()).ok()?)
                        .ok()?
                }
                None => files[i].0.clone(),
            };
            Some(SplitPoint::new(vec![first]))
        })
        .collect::<Option<Vec<_>>>()?;
    // The largest key: files are in key order and do not overlap.
    let max = files.last()?.1.clone();
    let mut groups = vec![Vec::new(); runs];
    let mut run = 0;
    for (i, (min, max, file)) in files.into_iter().enumerate() {
        if cuts.get(run) == Some(&i) {
            run += 1;
            if shared[run - 1].is_some() {
                // The run before also reads this file's first rows, those of the shared key.
                let bounded = with_bounds(min.clone(), max.clone(), file.clone(), columns);
                groups[run - 1].push(bounded);
            }
        }
        groups[run].push(with_bounds(min, max, file, columns));
    }
    let mut windows: Option<Vec<KeyWindow>> = shared.iter().any(Option::is_some).then(|| {
        (0..runs)
            .map(|r| KeyWindow {
                after: r.checked_sub(1).and_then(|c| shared[c]),
                through: shared.get(r).copied().flatten(),
            })
            .collect()
    });
    if runs < partitions {
        // Fewer runs than partitions: DataFusion would deal the runs' batches round-robin
        // to the partitions it wants, and aggregate in two phases again (TPC-H SF1 q18 1.3x
        // slower over two `lineitem` files for three partitions). With a run for each
        // thread, the partitions left over are empty runs of the keys above the last file's.
        if runs < threads {
            return None;
        }
        let mut next = max.clone();
        for _ in runs..partitions {
            next = next
                .add_checked(ScalarValue::new_one(&next.data_type()).ok()?)
                .ok()?;
            split_points.push(SplitPoint::new(vec![next.clone()]));
            groups.push(Vec::new());
            if let Some(windows) = windows.as_mut() {
                windows.push(KeyWindow {
                    after: integer(&max),
                    through: None,
                });
            }
        }
    }
    Some((
        groups.into_iter().map(FileGroup::new).collect(),
        split_points,
        windows,
    ))
}

/// An integer key's value.
fn integer(value: &ScalarValue) -> Option<i64> {
    match value {
        ScalarValue::Int64(Some(k)) => Some(*k),
        ScalarValue::Int32(Some(k)) => Some(i64::from(*k)),
        _ => None,
    }
}

/// `ranges` over files given as (min, max, bytes), with the splits' keys.
#[cfg(test)]
pub(crate) fn ranges_for_test(
    files: &[(i64, i64, u64)],
    partitions: usize,
    threads: usize,
    integer_key: bool,
) -> Option<Runs<i64>> {
    let files = files
        .iter()
        .enumerate()
        .map(|(i, (min, max, bytes))| {
            (
                ScalarValue::Int64(Some(*min)),
                ScalarValue::Int64(Some(*max)),
                PartitionedFile::new(format!("f{i}"), *bytes),
            )
        })
        .collect();
    let (groups, splits, windows) = ranges(files, 1, partitions, threads, integer_key)?;
    let splits = splits
        .iter()
        .map(|s| match s.values() {
            [ScalarValue::Int64(Some(k))] => *k,
            other => panic!("split {other:?}"),
        })
        .collect();
    Some((groups, splits, windows))
}

#[cfg(test)]
mod tests {
    use crate::test_util::{query_text, session_after};

    #[tokio::test]
    async fn a_table_loaded_in_key_order_is_aggregated_in_that_order_until_rows_break_it() {
        // One partition: these tables have one file each, too few to deal to two
        // (`groups`, tested on its own below).
        let (dir, _db, session) = session_after(&[
            "SET datafusion.execution.target_partitions = 1",
            "CREATE TABLE t AS SELECT value AS k, value % 7 AS v \
             FROM range(0, 300000) ORDER BY value",
        ])
        .await;
        let session = &session;
        let text = move |sql: &'static str| async move { query_text(session, sql).await };
        let grouped = "SELECT k, sum(v) AS s FROM t GROUP BY k ORDER BY k LIMIT 3";
        let plan = text("EXPLAIN SELECT k, sum(v) AS s FROM t GROUP BY k ORDER BY k LIMIT 3").await;
        assert!(plan.contains("ordering_mode=Sorted"), "{plan}");
        assert!(!plan.contains("SortExec"), "{plan}");
        let answer = text(grouped).await;
        for row in ["| 0 | 0 |", "| 1 | 1 |", "| 2 | 2 |"] {
            assert!(answer.contains(row), "{answer}");
        }
        // Without the record (files written by another tool), no order is declared until
        // ANALYZE checks the files.
        let record = dir.path().join("public/t/_abacus/sort_order.json");
        std::fs::remove_file(&record).unwrap();
        let sorted = || text("EXPLAIN SELECT k, sum(v) FROM t GROUP BY k");
        assert!(!sorted().await.contains("ordering_mode=Sorted"));
        session.execute_one("ANALYZE t").await.unwrap();
        assert!(record.exists());
        assert!(sorted().await.contains("ordering_mode=Sorted"));
        // A row below the last file's keys: the files now overlap, so no order is declared,
        // and the answer counts the new row with the old one of the same key.
        session
            .execute_one("INSERT INTO t VALUES (1, 100)")
            .await
            .unwrap();
        let plan = text("EXPLAIN SELECT k, sum(v) AS s FROM t GROUP BY k ORDER BY k LIMIT 3").await;
        assert!(!plan.contains("ordering_mode=Sorted"), "{plan}");
        let answer = text(grouped).await;
        assert!(answer.contains("| 1 | 101 |"), "{answer}");
        // A file loaded with COPY keeps its order across batches and row groups.
        let file = dir.path().join("sorted.parquet");
        write_sorted_file(&file, 200_000);
        let load = format!("COPY loaded FROM '{}'", file.display());
        // Loaded with two partitions, as a server would: batches must not be interleaved.
        session
            .execute_one("SET datafusion.execution.target_partitions = 2")
            .await
            .unwrap();
        session.execute_one(&load).await.unwrap();
        let record = dir.path().join("public/loaded/_abacus/sort_order.json");
        assert!(std::fs::read_to_string(record)
            .unwrap()
            .contains(r#": "k""#));
        session
            .execute_one("SET datafusion.execution.target_partitions = 1")
            .await
            .unwrap();
        let plan = text("EXPLAIN SELECT k, count(*) FROM loaded GROUP BY k").await;
        assert!(plan.contains("ordering_mode=Sorted"), "{plan}");
        // Files of ascending strings are recorded, but a string key is not declared: the
        // log's bounds of a long string may be cut short.
        session
            .execute_one(
                "CREATE TABLE names AS SELECT concat('name-', lpad(CAST(value AS VARCHAR), 6, '0')) \
                 AS k FROM range(0, 1000) ORDER BY 1",
            )
            .await
            .unwrap();
        let record = dir.path().join("public/names/_abacus/sort_order.json");
        assert!(std::fs::read_to_string(record)
            .unwrap()
            .contains(r#": "k""#));
        let plan = text("EXPLAIN SELECT k, count(*) FROM names GROUP BY k").await;
        assert!(!plan.contains("ordering_mode=Sorted"), "{plan}");
        // Bare ANALYZE covers every table; options it does not take are refused.
        session.execute_one("ANALYZE").await.unwrap();
        let refused = session.execute_one("ANALYZE t (k)").await.unwrap_err();
        assert!(refused.to_string().contains("no options"), "{refused}");
        let missing = session.execute_one("ANALYZE nope").await.unwrap_err();
        assert!(missing.to_string().contains("does not exist"), "{missing}");
    }

    #[test]
    fn files_are_dealt_in_key_order_when_they_spread_evenly() {
        use super::groups;
        use datafusion::common::ScalarValue;
        use datafusion::datasource::listing::PartitionedFile;
        let file = |name: &str, lo: i64, hi: i64, size: u64| {
            (
                ScalarValue::Int64(Some(lo)),
                ScalarValue::Int64(Some(hi)),
                PartitionedFile::new(name, size),
            )
        };
        // Listed out of order; 8 files of 100 bytes into 2 groups of alternate files.
        let names = ["c", "a", "g", "e", "b", "h", "d", "f"];
        let files: Vec<_> = names
            .iter()
            .map(|n| {
                let i = (n.as_bytes()[0] - b'a') as i64;
                // b ends on the key c starts with: touching is not overlapping.
                let hi = if *n == "b" { 20 } else { i * 10 + 9 };
                file(n, i * 10, hi, 100)
            })
            .collect();
        let shown = |g: &datafusion::datasource::physical_plan::FileGroup| {
            g.iter()
                .map(|f| f.path().to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let dealt = groups(files.clone(), 2, 2).unwrap();
        let dealt: Vec<String> = dealt.iter().map(shown).collect();
        assert_eq!(dealt, ["a c e g", "b d f h"]);
        // Every file's bounds travel with it, for DataFusion's overlap check.
        let one = groups(files.clone(), 2, 1).unwrap();
        assert_eq!(one.len(), 1);
        assert!(one[0].iter().all(|f| f.statistics.is_some()));
        // Too few files per group, or uneven sizes: no order.
        assert!(groups(files[..7].to_vec(), 2, 2).is_none());
        let mut uneven = files.clone();
        uneven[0].2 = PartitionedFile::new("c", 900);
        assert!(groups(uneven, 2, 2).is_none());
        // Overlapping files (beyond a shared boundary key) declare no order.
        let mut overlapping = files;
        overlapping.push(file("x", 5, 15, 100));
        assert!(groups(overlapping, 2, 2).is_none());
    }

    /// A Parquet file of `rows` ascending keys `k` (and `v`), in row groups of 10 000.
    fn write_sorted_file(path: &std::path::Path, rows: i64) {
        use datafusion::arrow::array::Int64Array;
        use datafusion::arrow::datatypes::{DataType, Field, Schema};
        use datafusion::arrow::record_batch::RecordBatch;
        use datafusion::parquet::arrow::ArrowWriter;
        use datafusion::parquet::file::properties::WriterProperties;
        use std::sync::Arc;
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, false),
            Field::new("v", DataType::Int64, false),
        ]));
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(10_000))
            .build();
        let file = std::fs::File::create(path).unwrap();
        let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(props)).unwrap();
        for start in (0..rows).step_by(5_000) {
            let keys: Int64Array = (start..(start + 5_000).min(rows)).collect();
            let values: Int64Array = keys.iter().map(|k| k.map(|k| k % 5)).collect();
            let batch =
                RecordBatch::try_new(schema.clone(), vec![Arc::new(keys), Arc::new(values)])
                    .unwrap();
            writer.write(&batch).unwrap();
        }
        writer.close().unwrap();
    }
}
