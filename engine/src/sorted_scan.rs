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
use datafusion::common::stats::Precision;
use datafusion::common::{ColumnStatistics, ScalarValue, Statistics};
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfig, FileScanConfigBuilder};
use datafusion::datasource::source::DataSourceExec;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr::{LexOrdering, PhysicalSortExpr};
use datafusion::physical_plan::ExecutionPlan;

use crate::plain_scan::PlainScanExec;
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
    let bounds = stats.first_column_bounds.as_ref()?;
    let scan = plan.downcast_ref::<PlainScanExec>()?;
    let config = scan
        .input()
        .downcast_ref::<DataSourceExec>()
        .and_then(|s| s.data_source().downcast_ref::<FileScanConfig>())?;
    let columns = config.file_schema().fields().len();
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
    if files.is_empty() {
        return None;
    }
    let groups = groups(files, columns, partitions)?;
    let ordering = LexOrdering::new([PhysicalSortExpr::new(
        Arc::new(Column::new(column, 0)),
        SortOptions {
            descending: false,
            nulls_first: false,
        },
    )]);
    let config = FileScanConfigBuilder::from(config.clone())
        .with_file_groups(groups)
        .with_output_ordering(ordering.into_iter().collect())
        .build();
    Some(Arc::new(PlainScanExec::new(
        DataSourceExec::from_data_source(config),
        scan.schema(),
    )))
}

/// Files per partition below which no order is declared (see `groups`).
const MIN_FILES_PER_GROUP: usize = 4;

/// The largest group may hold this much more than an even share of the bytes.
const MAX_IMBALANCE: f64 = 1.1;

/// The files in key order, dealt to `partitions` groups, each file to the group with the
/// fewest bytes so far: every group ascends, and the groups read neighbouring key ranges at
/// the same time. That matters because DataFusion merges the groups by key (an
/// order-preserving repartition) above an aggregate on the key: with each group one run
/// of the key range (byte ranges cut like an unordered scan's), the merge held the second
/// group back until the first was done, and TPC-H q3 ran 1.6x slower. Whole files cannot
/// always be dealt evenly (5 files make 3 + 2: q11 1.3x slower), so `None` (no order) with
/// fewer than `MIN_FILES_PER_GROUP` files per group or a group over `MAX_IMBALANCE` of its
/// share; also when two files overlap beyond a shared boundary key or bounds do not compare.
fn groups(
    mut files: Vec<(ScalarValue, ScalarValue, PartitionedFile)>,
    columns: usize,
    partitions: usize,
) -> Option<Vec<FileGroup>> {
    let partitions = partitions.max(1);
    if partitions > 1 && files.len() < MIN_FILES_PER_GROUP * partitions {
        return None;
    }
    let mut incomparable = false;
    files.sort_by(|a, b| {
        a.0.partial_cmp(&b.0).unwrap_or_else(|| {
            incomparable = true;
            std::cmp::Ordering::Equal
        })
    });
    if incomparable {
        return None;
    }
    for pair in files.windows(2) {
        if pair[0].1.partial_cmp(&pair[1].0)? == std::cmp::Ordering::Greater {
            return None;
        }
    }
    let total: u64 = files.iter().map(|(_, _, f)| f.object_meta.size).sum();
    let mut groups: Vec<(u64, Vec<PartitionedFile>)> = vec![(0, Vec::new()); partitions];
    for (min, max, file) in files {
        // Keep whatever else the scan knows of the file (it prunes files with it).
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
        let size = file.object_meta.size;
        let group = groups.iter_mut().min_by_key(|(bytes, _)| *bytes)?;
        group.0 += size;
        group.1.push(file.with_statistics(Arc::new(stats)));
    }
    let largest = groups.iter().map(|(bytes, _)| *bytes).max()? as f64;
    if largest > MAX_IMBALANCE * total as f64 / partitions as f64 {
        return None;
    }
    Some(groups.into_iter().map(|(_, f)| FileGroup::new(f)).collect())
}

#[cfg(test)]
mod tests {
    use crate::test_util::{database, query_text};

    #[tokio::test]
    async fn a_table_loaded_in_key_order_is_aggregated_in_that_order_until_rows_break_it() {
        let (dir, db) = database();
        let session = db.session();
        // One partition: these tables have one file each, too few to deal to two
        // (`groups`, tested on its own below).
        session
            .execute_one("SET datafusion.execution.target_partitions = 1")
            .await
            .unwrap();
        session
            .execute_one(
                "CREATE TABLE t AS SELECT value AS k, value % 7 AS v \
                 FROM range(0, 300000) ORDER BY value",
            )
            .await
            .unwrap();
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
