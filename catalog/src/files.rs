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

/// A column's dictionary page may grow to this before its values are written PLAIN.
/// Parquet's default (1 MiB) keeps a 128K-row group of distinct 8-byte values (keys,
/// prices) dictionary-encoded: a dictionary as large as the data, gathered through
/// bit-packed indices on every read, 23 % of TPC-H q6's CPU. With 128 KiB such columns go
/// PLAIN after their first 16K values, while flags, dates, sizes and types keep their
/// dictionaries; TPC-H SF1 ran 0.91x without q18 (BENCHMARKS.md, change 32).
pub const DICTIONARY_PAGE_BYTES: usize = 128 * 1024;

/// The properties every Abacus write (COPY, INSERT, CTAS, UPDATE, DELETE) uses.
pub fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_created_by(format!("abacus {}", env!("CARGO_PKG_VERSION")))
        .set_compression(COMPRESSION)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_dictionary_page_size_limit(DICTIONARY_PAGE_BYTES)
        .build()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch};
    use datafusion::parquet::arrow::ArrowWriter;
    use datafusion::parquet::basic::Encoding;
    use datafusion::parquet::column::page::Page;
    use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};

    /// A row group of distinct values ends up mostly PLAIN; one of few values keeps its
    /// dictionary throughout.
    #[test]
    fn only_columns_of_few_values_keep_a_dictionary() {
        let rows = 100_000;
        let batch = RecordBatch::try_from_iter([
            (
                "distinct",
                Arc::new(Int64Array::from_iter_values(0..rows)) as ArrayRef,
            ),
            (
                "few",
                Arc::new(Int64Array::from_iter_values((0..rows).map(|i| i % 50))) as ArrayRef,
            ),
        ])
        .unwrap();
        let file = tempfile::tempfile().unwrap();
        let mut writer = ArrowWriter::try_new(
            file.try_clone().unwrap(),
            batch.schema(),
            Some(super::writer_properties()),
        )
        .unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let reader = SerializedFileReader::new(file).unwrap();
        let row_group = reader.get_row_group(0).unwrap();
        let encoded_pages = |i: usize, wanted: Encoding| -> usize {
            let mut pages = row_group.get_column_page_reader(i).unwrap();
            std::iter::from_fn(|| pages.get_next_page().unwrap())
                .filter(|page| {
                    page.encoding() == wanted && !matches!(page, Page::DictionaryPage { .. })
                })
                .count()
        };
        assert!(
            encoded_pages(0, Encoding::PLAIN) > encoded_pages(0, Encoding::RLE_DICTIONARY),
            "distinct values: {} PLAIN pages, {} dictionary",
            encoded_pages(0, Encoding::PLAIN),
            encoded_pages(0, Encoding::RLE_DICTIONARY)
        );
        assert_eq!(encoded_pages(1, Encoding::PLAIN), 0);
        assert!(encoded_pages(1, Encoding::RLE_DICTIONARY) > 0);
    }
}
