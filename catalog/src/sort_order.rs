//! Which data files hold their rows in ascending order of the table's first column.
//!
//! Tables are often loaded in key order (an export sorted by id, a log by time, TPC-H's
//! `lineitem` by `l_orderkey`). A scan that knows it can aggregate and merge by that key as
//! the rows stream instead of holding every group in a hash table (TPC-H q18: 15M groups,
//! BENCHMARKS.md change 18). Neither the Delta protocol nor delta-rs records a data file's
//! order, and the Parquet footer's `sorting_columns` must be chosen before a file is written,
//! when its order is not known yet. So each file is checked once, after the write that
//! added it, by reading its first column back; the answer is kept per file name in
//! `_abacus/sort_order.json` in the table's folder (Delta readers and VACUUM skip folders
//! starting with `_`). A file not listed there, written by another tool or by a process that
//! stopped before recording it, counts as unordered: the record can only lose speed, never
//! give a wrong answer, since a data file never changes once written.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::arrow::compute::kernels::cmp::lt;
use datafusion::arrow::record_batch::RecordBatchReader;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::arrow::ProjectionMask;
use deltalake::DeltaTable;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The record's path inside a table's folder.
const RECORD: &str = "_abacus/sort_order.json";

/// Rows read per batch while checking a file.
const BATCH_ROWS: usize = 64 * 1024;

/// The checked files of one table.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Record {
    /// Data file path (as in the Delta log) → the column its rows ascend by, with no nulls;
    /// `None` when it was checked and is not in order.
    files: BTreeMap<String, Option<String>>,
}

fn record_path(table_dir: &Path) -> PathBuf {
    table_dir.join(RECORD)
}

fn load(table_dir: &Path) -> Record {
    // A missing or unreadable record only means "nothing known to be in order".
    std::fs::read(record_path(table_dir))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// The column every data file of `delta`'s loaded version ascends by, if there is one and
/// the table has data files.
pub(crate) fn sorted_by(table_dir: &Path, delta: &DeltaTable) -> Option<String> {
    let files = data_files(delta)?;
    let first = files.first()?;
    let record = load(table_dir);
    let column = record.files.get(first)?.clone()?;
    files
        .iter()
        .all(|f| matches!(record.files.get(f), Some(Some(c)) if *c == column))
        .then_some(column)
}

/// Checks the data files of `delta`'s loaded version that the record does not list yet,
/// and writes the record back with exactly that version's files. Returns how many files
/// were checked.
pub(crate) async fn check_new_files(table_dir: &Path, delta: &DeltaTable) -> Result<usize> {
    let Some(files) = data_files(delta) else {
        return Ok(0);
    };
    let Some(column) = delta
        .snapshot()
        .ok()
        .and_then(|s| s.schema().fields().next().map(|f| f.name().to_string()))
    else {
        return Ok(0);
    };
    let dir = table_dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let old = load(&dir);
        let mut checked = 0;
        let mut record = Record::default();
        for file in files {
            let sorted = match old.files.get(&file) {
                Some(known) => known.clone(),
                None => {
                    checked += 1;
                    let path = dir.join(&file);
                    ascends(&path, &column)
                        .map_err(|e| Error::io(&path, e))?
                        .then(|| column.clone())
                }
            };
            record.files.insert(file, sorted);
        }
        if checked > 0 {
            save(&dir, &record)?;
        }
        Ok(checked)
    })
    .await
    .map_err(|e| Error::io(table_dir, std::io::Error::other(e)))?
}

/// The data file paths of the loaded version; `None` without a snapshot.
fn data_files(delta: &DeltaTable) -> Option<Vec<String>> {
    let snapshot = delta.snapshot().ok()?;
    Some(
        snapshot
            .log_data()
            .iter()
            .map(|f| f.path().into_owned())
            .collect(),
    )
}

fn save(table_dir: &Path, record: &Record) -> Result<()> {
    let path = record_path(table_dir);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    let bytes = serde_json::to_vec_pretty(record).expect("sort record serialises");
    crate::views::write_atomically(&path, &bytes)
}

/// Whether the Parquet file's first column is named `column`, holds no nulls and never
/// descends. Stops at the first row out of order.
fn ascends(path: &Path, column: &str) -> std::io::Result<bool> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path)?)
        .map_err(std::io::Error::other)?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), [0]);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(std::io::Error::other)?;
    if reader.schema().fields().first().map(|f| f.name().as_str()) != Some(column) {
        return Ok(false);
    }
    let mut last: Option<ArrayRef> = None;
    for batch in reader {
        let values = batch.map_err(std::io::Error::other)?.column(0).clone();
        if values.is_empty() {
            continue;
        }
        if values.null_count() > 0 {
            return Ok(false);
        }
        let n = values.len();
        // A value below the one before it, within the batch or across the batch boundary.
        let Ok(inside) = lt(&values.slice(1, n - 1), &values.slice(0, n - 1)) else {
            return Ok(false); // a type without an order
        };
        if inside.true_count() > 0 {
            return Ok(false);
        }
        if let Some(last) = &last {
            match lt(&values.slice(0, 1), last) {
                Ok(across) if across.true_count() == 0 => {}
                _ => return Ok(false),
            }
        }
        last = Some(values.slice(n - 1, 1));
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::record_batch::RecordBatch;
    use datafusion::parquet::arrow::ArrowWriter;
    use datafusion::parquet::file::properties::WriterProperties;
    use std::sync::Arc;

    /// A file whose first column `k` holds `batches`, each written as its own batch in
    /// row groups of 2 rows, so that page, row-group and batch boundaries are all crossed.
    fn file(dir: &Path, name: &str, batches: &[Vec<Option<i64>>]) -> PathBuf {
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, true),
            Field::new("s", DataType::Utf8, true),
        ]));
        let path = dir.join(name);
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(2))
            .build();
        let mut w = ArrowWriter::try_new(File::create(&path).unwrap(), schema.clone(), Some(props))
            .unwrap();
        for keys in batches {
            let s: StringArray = keys.iter().map(|_| Some("x")).collect();
            let batch = RecordBatch::try_new(
                schema.clone(),
                vec![Arc::new(Int64Array::from(keys.clone())), Arc::new(s)],
            )
            .unwrap();
            w.write(&batch).unwrap();
        }
        w.close().unwrap();
        path
    }

    /// A file's key column, batch by batch.
    type Batches = Vec<Vec<Option<i64>>>;

    #[test]
    fn a_file_ascends_only_when_no_row_is_below_the_one_before() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let cases: [(&str, Batches, bool); 6] = [
            (
                "up",
                vec![vec![Some(1), Some(2), Some(2)], vec![Some(3)]],
                true,
            ),
            ("empty", vec![vec![]], true),
            ("inside", vec![vec![Some(1), Some(3), Some(2)]], false),
            // Each batch ascends; the second starts below where the first ended.
            (
                "across",
                vec![vec![Some(1), Some(5)], vec![Some(4), Some(6)]],
                false,
            ),
            ("null", vec![vec![Some(1), None, Some(3)]], false),
            ("down", vec![vec![Some(9), Some(8)]], false),
        ];
        for (name, batches, want) in cases {
            let path = file(d, name, &batches);
            assert_eq!(ascends(&path, "k").unwrap(), want, "{name}");
        }
        // A file whose first column is not the table's first column does not count.
        let path = file(d, "renamed", &[vec![Some(1), Some(2)]]);
        assert!(!ascends(&path, "id").unwrap());
    }
}
