//! How Abacus lays out the Parquet files it writes.

use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;

/// Rows per Parquet row group. Parquet's default (1M rows) leaves a SF1 `orders` file with two
/// row groups of 1M and 0.5M rows, and a scan parallelises by row group, so one core did
/// two thirds of the work. 128K rows keeps min/max pruning fine-grained and the split even,
/// and matches what DuckDB (122 880) and tpchgen (≈100K) write.
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

/// Page compression. LZ4_RAW (Parquet format 2.9) decompresses faster than Snappy at the
/// same size: TPC-H SF10 `lineitem` is 2.4 GB either way, and q6 / q1, which mostly decode
/// it, ran 0.78× / 0.86× the Snappy files' time (BENCHMARKS.md, change 14). DuckDB, Polars,
/// pyarrow, delta-rs and Spark 3.5+ read it; files written earlier stay Snappy and readable.
pub const COMPRESSION: Compression = Compression::LZ4_RAW;

/// The properties every Abacus write (COPY, INSERT, CTAS, UPDATE, DELETE) uses.
pub fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_created_by(format!("abacus {}", env!("CARGO_PKG_VERSION")))
        .set_compression(COMPRESSION)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .build()
}
