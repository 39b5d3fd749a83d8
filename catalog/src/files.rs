//! How Abacus lays out the Parquet files it writes.

use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;

/// Rows per Parquet row group. Parquet's default (1M rows) leaves a SF1 `orders` file with two
/// row groups of 1M and 0.5M rows, and a scan parallelises by row group, so one core did
/// two thirds of the work. 128K rows keeps min/max pruning fine-grained and the split even,
/// and matches what DuckDB (122 880) and tpchgen (≈100K) write.
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

/// The properties every Abacus write (COPY, INSERT, CTAS, UPDATE, DELETE) uses.
pub fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_created_by(format!("abacus {}", env!("CARGO_PKG_VERSION")))
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .build()
}
