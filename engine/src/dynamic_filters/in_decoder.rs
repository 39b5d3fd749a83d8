//! A scan whose join's build keys keep at most 1 % of its rows checks them in the Parquet
//! decoder, which then decodes the other columns only for the rows that pass.
//!
//! TPC-H q8's lineitem scan decoded five columns of all 60M rows (SF10, 2.8 s of CPU) to
//! keep the 24K of one part type's orders, and q17's kept 0.1 %. Parquet filter pushdown
//! does the late decoding, but DataFusion 55 turns it on for a whole session and for every
//! filter: static filters then cost q6 2.6× (change 3), and the decoder's two passes over
//! each row group cost scans that keep a few percent (q9 and q11 up to 1.3×, BENCHMARKS.md
//! "Tried: change 21's bitmaps in the Parquet decoder"). So each scan partition chooses
//! when it starts: its first batch is decoded as usual and, once its joins have built their
//! keys, checked against their bitmaps. If they keep at most 1 % of it, the partition is read
//! again from its start by a scan that checks them in the decoder, and the first batch is
//! dropped; else the first batch goes on and so does the scan. The key range alone misjudges
//! keys that use part of their range (TPC-H order keys use a quarter of theirs: q4's three
//! months of orders keep 3.8 % of lineitem, not 0.95 %). Only the bitmaps go into the
//! decoder; DataFusion's own dynamic filters, hash-table lookups among them, stay with the
//! filter above the scan.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;
use datafusion::datasource::physical_plan::{FileScanConfig, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::Result;
use datafusion::logical_expr::ColumnarValue;
use datafusion::physical_expr::conjunction;
use datafusion::physical_expr::utils::reassign_expr_columns;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::ExecutionPlan;

use super::build_keys::ProbeKeys;

/// The share of a scan's rows the bitmaps must keep at most to be checked in the decoder.
const MAX_SHARE: f64 = 0.01;

/// Rows a partition's first batch must hold to judge by (half a default batch).
const MIN_SAMPLE: usize = 4096;

/// Whether `probes`' bitmaps, all complete, keep at most `MAX_SHARE` of `sample`, a scan
/// partition's first batch.
pub(super) fn narrow(sample: &RecordBatch, probes: &[ProbeKeys]) -> Result<bool> {
    let rows = sample.num_rows();
    if rows < MIN_SAMPLE {
        return Ok(false);
    }
    let mut kept = rows;
    for probe in probes {
        let Some(mask) = probe.evaluate(sample)? else {
            return Ok(false);
        };
        kept = kept.min(mask.true_count());
    }
    Ok(kept as f64 <= MAX_SHARE * rows as f64)
}

/// The Parquet files `scan` reads, when it is a Parquet scan. A partition reads them
/// through `FileScanConfig::open`, not `DataSourceExec::execute`: DataFusion 55 lets a
/// partition take files the others have not opened yet, and a partition that starts again in
/// its decoder would then read files another partition reads too.
pub(super) fn parquet_files(scan: &Arc<dyn ExecutionPlan>) -> Option<FileScanConfig> {
    let config = scan
        .downcast_ref::<DataSourceExec>()?
        .data_source()
        .downcast_ref::<FileScanConfig>()?;
    config.file_source().downcast_ref::<ParquetSource>()?;
    Some(config.clone())
}

/// `files` with `probes`' bitmaps as the decoder's only predicate; `None` for keys that
/// cannot be bound to the table's columns.
pub(super) fn filtering_in_decoder(
    files: &FileScanConfig,
    probes: &[ProbeKeys],
) -> Option<FileScanConfig> {
    let parquet = files.file_source().downcast_ref::<ParquetSource>()?;
    let table_schema = files.file_source().table_schema().table_schema();
    let mut checks = Vec::with_capacity(probes.len());
    for probe in probes {
        // The keys are bound to the scan's output; the decoder's predicate to the table.
        let exprs = probe
            .exprs
            .iter()
            .map(|e| {
                e.as_ref()
                    .map(|e| reassign_expr_columns(Arc::clone(e), table_schema))
                    .transpose()
            })
            .collect::<Result<Vec<_>>>()
            .ok()?;
        let bound = ProbeKeys {
            exprs,
            build: Arc::clone(&probe.build),
        };
        checks.push(Arc::new(InBuildKeys(bound)) as Arc<dyn PhysicalExpr>);
    }
    let parquet = parquet
        .with_predicate(conjunction(checks))
        .with_pushdown_filters(true);
    Some(
        FileScanConfigBuilder::from(files.clone())
            .with_source(Arc::new(parquet))
            .build(),
    )
}

/// A join's build keys checked in bitmaps, as a predicate the decoder evaluates. Before the
/// bitmaps are complete every row passes (they are by the time a scan chooses this).
#[derive(Debug)]
struct InBuildKeys(ProbeKeys);

impl PhysicalExpr for InBuildKeys {
    fn data_type(&self, _input_schema: &Schema) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn nullable(&self, _input_schema: &Schema) -> Result<bool> {
        Ok(false)
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<ColumnarValue> {
        Ok(match self.0.evaluate(batch)? {
            Some(mask) => ColumnarValue::Array(Arc::new(mask)),
            None => ColumnarValue::Scalar(ScalarValue::Boolean(Some(true))),
        })
    }

    fn children(&self) -> Vec<&Arc<dyn PhysicalExpr>> {
        self.0.exprs.iter().flatten().collect()
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn PhysicalExpr>>,
    ) -> Result<Arc<dyn PhysicalExpr>> {
        let mut children = children.into_iter();
        let exprs = self
            .0
            .exprs
            .iter()
            .map(|e| e.as_ref().and_then(|_| children.next()))
            .collect();
        Ok(Arc::new(Self(ProbeKeys {
            exprs,
            build: Arc::clone(&self.0.build),
        })))
    }

    fn fmt_sql(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }

    fn is_volatile_node(&self) -> bool {
        true
    }
}

impl fmt::Display for InBuildKeys {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "in_build_keys({})", self.0)
    }
}

impl PartialEq for InBuildKeys {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Eq for InBuildKeys {}

impl Hash for InBuildKeys {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.exprs.hash(state);
    }
}
