//! How Abacus lays out the Parquet files it writes.

use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::parquet::basic::{Compression, Encoding};
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::parquet::schema::types::ColumnPath;

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

/// A column's dictionary page may grow to this before its values are written PLAIN (see
/// `INTEGER_DICTIONARY_PAGE_BYTES` for integer columns). Parquet's default (1 MiB) kept a
/// 128K-row group of distinct 8-byte values (keys, prices) dictionary-encoded: a dictionary
/// as large as the data, gathered through bit-packed indices on every read, 23 % of TPC-H
/// q6's CPU. With 128 KiB such columns went PLAIN after their first 16K values, while
/// flags, dates, sizes and types kept their dictionaries; TPC-H SF1 ran 0.91x without q18
/// (BENCHMARKS.md, change 32).
pub const DICTIONARY_PAGE_BYTES: usize = 128 * 1024;

/// A dictionary page of an integer column (integers, dates, times, decimals of up to 18
/// digits) may grow to this: 2K 8-byte values, 4K 4-byte ones. Past it the column goes on
/// DELTA_BINARY_PACKED, where a value costs the bits of its difference from the one before,
/// which for keys, ids and event times (mostly distinct, near-sorted) is a few bits, and
/// for a column of a few thousand values in random order about a dictionary index's. The
/// dictionary's first values are all that stays dictionary-encoded; at the 16K values
/// `DICTIONARY_PAGE_BYTES` holds, they made TPC-H SF1 1.09x slower than without
/// (BENCHMARKS.md, change 34).
pub const INTEGER_DICTIONARY_PAGE_BYTES: usize = 16 * 1024;

/// The properties every Abacus write (COPY, INSERT, CTAS, UPDATE, DELETE) uses, for a table
/// of `columns`. Integer columns are packed by their differences once their dictionary
/// overflows (`INTEGER_DICTIONARY_PAGE_BYTES`): a sorted 8-byte key written PLAIN was left
/// to LZ4 (36 % of a scan of `l_orderkey`). TPC-H's tables shrink from 326 to 273 MB at SF1,
/// and its queries took 0.75x the time at SF1 and SF10 (BENCHMARKS.md, change 34).
pub fn writer_properties(columns: &Schema) -> WriterProperties {
    let mut builder = WriterProperties::builder()
        .set_created_by(format!("abacus {}", env!("CARGO_PKG_VERSION")))
        .set_compression(COMPRESSION)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_dictionary_page_size_limit(DICTIONARY_PAGE_BYTES);
    for field in columns.fields() {
        if stored_as_integers(field.data_type()) {
            let column = ColumnPath::from(field.name().as_str());
            builder = builder
                .set_column_dictionary_page_size_limit(
                    column.clone(),
                    INTEGER_DICTIONARY_PAGE_BYTES,
                )
                .set_column_encoding(column, Encoding::DELTA_BINARY_PACKED);
        }
    }
    builder.build()
}

/// Whether Parquet stores a column of this type as 32- or 64-bit integers, which
/// DELTA_BINARY_PACKED encodes (parquet's `arrow_to_parquet_type`).
fn stored_as_integers(data_type: &DataType) -> bool {
    match data_type {
        DataType::Decimal32(precision, _)
        | DataType::Decimal64(precision, _)
        | DataType::Decimal128(precision, _)
        | DataType::Decimal256(precision, _) => *precision <= 18,
        // Twelve bytes, FIXED_LEN_BYTE_ARRAY.
        DataType::Interval(_) => false,
        other => other.is_integer() || other.is_temporal(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{
        ArrayRef, Decimal128Array, Int64Array, RecordBatch, StringArray,
    };
    use datafusion::parquet::arrow::ArrowWriter;
    use datafusion::parquet::basic::Encoding;
    use datafusion::parquet::column::page::Page;
    use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};

    /// In a row group of distinct values, integers and decimals end up DELTA_BINARY_PACKED
    /// after at most one page from their dictionary, and strings mostly PLAIN; a column of
    /// few values keeps its dictionary throughout.
    #[test]
    fn only_columns_of_few_values_keep_a_dictionary() {
        let rows = 100_000;
        let batch = RecordBatch::try_from_iter([
            (
                "key",
                Arc::new(Int64Array::from_iter_values(0..rows)) as ArrayRef,
            ),
            (
                "few",
                Arc::new(Int64Array::from_iter_values((0..rows).map(|i| i % 50))) as ArrayRef,
            ),
            (
                "name",
                Arc::new(StringArray::from_iter_values(
                    (0..rows).map(|i| format!("customer {i}")),
                )) as ArrayRef,
            ),
            (
                "price",
                Arc::new(
                    Decimal128Array::from_iter_values(
                        (0..rows).map(|i| i128::from(i * 7919 % rows)),
                    )
                    .with_precision_and_scale(15, 2)
                    .unwrap(),
                ) as ArrayRef,
            ),
        ])
        .unwrap();
        let file = tempfile::tempfile().unwrap();
        let mut writer = ArrowWriter::try_new(
            file.try_clone().unwrap(),
            batch.schema(),
            Some(super::writer_properties(&batch.schema())),
        )
        .unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let reader = SerializedFileReader::new(file).unwrap();
        let row_group = reader.get_row_group(0).unwrap();
        // Data pages of column `i` per encoding: PLAIN, dictionary, DELTA_BINARY_PACKED.
        let pages = |i: usize| -> [usize; 3] {
            let mut reader = row_group.get_column_page_reader(i).unwrap();
            let mut counts = [0; 3];
            while let Some(page) = reader.get_next_page().unwrap() {
                match (&page, page.encoding()) {
                    (Page::DictionaryPage { .. }, _) => {}
                    (_, Encoding::PLAIN) => counts[0] += 1,
                    (_, Encoding::RLE_DICTIONARY) => counts[1] += 1,
                    (_, Encoding::DELTA_BINARY_PACKED) => counts[2] += 1,
                    (_, other) => panic!("column {i}: a page of {other:?}"),
                }
            }
            counts
        };
        for (i, name) in [(0, "key"), (3, "price")] {
            let [plain, dictionary, packed] = pages(i);
            assert!(
                plain == 0 && dictionary <= 1 && packed > 1,
                "{name}: {:?}",
                pages(i)
            );
        }
        let [plain, dictionary, packed] = pages(1);
        assert!(
            plain == 0 && packed == 0 && dictionary > 0,
            "few: {:?}",
            pages(1)
        );
        let [plain, dictionary, packed] = pages(2);
        assert!(packed == 0 && plain > dictionary, "name: {:?}", pages(2));
    }
}
