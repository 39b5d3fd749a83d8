//! Result batches written straight into wire bytes, a column at a time, for the types most
//! results hold (integers, floats, booleans, text, dates, timestamps, numeric as text).
//!
//! Ours because arrow-pg encodes cell by cell (a type match, an array downcast and a
//! `ToSql` call per value, a fresh message per row) and prints through chrono's `strftime`,
//! which re-parses its format string for every timestamp; those were most of the server's
//! CPU when streaming (BENCHMARKS.md). The text forms are PostgreSQL's own: `1` and `1e+15`
//! for float8, timestamps without trailing zero fractions, `BC` years. A batch holding any
//! other type (arrays, intervals, binary numeric, typed catalog columns) goes to arrow-pg.

use abacus_engine::datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, Decimal128Array, Float32Array,
    Float64Array, Int16Array, Int32Array, Int64Array, TimestampMicrosecondArray,
};
use abacus_engine::datafusion::arrow::datatypes::{DataType, Field, TimeUnit};
use abacus_engine::datafusion::arrow::record_batch::RecordBatch;
use bytes::{BufMut, BytesMut};
use pgwire::api::results::{FieldFormat, FieldInfo};
use pgwire::api::Type;
use pgwire::messages::data::DataRow;

use crate::pg_text::{
    civil, write_date, write_decimal, write_float, write_int, write_timestamp, MICROS_PER_DAY,
};

/// How one column is written.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Kind {
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Bool,
    Text,
    Date,
    /// Microseconds per unit of the column, or for nanoseconds 0.
    Timestamp(i64),
    /// Text form only (the binary numeric format is arrow-pg's).
    Decimal(i8),
}

/// The writers for `batch`'s columns, or `None` when one of them is not ours to write.
/// `binary` is per column.
pub(crate) fn plan(batch: &RecordBatch, fields: &[FieldInfo]) -> Option<Vec<(Kind, bool)>> {
    if fields.len() != batch.num_columns() {
        return None;
    }
    batch
        .schema()
        .fields()
        .iter()
        .zip(fields)
        .map(|(field, info)| {
            let binary = info.format() == FieldFormat::Binary;
            Some((kind(field, info.datatype(), binary)?, binary))
        })
        .collect()
}

fn kind(field: &Field, ty: &Type, binary: bool) -> Option<Kind> {
    // Columns typed through metadata (oid aliases, "char", json, regclass) are arrow-pg's.
    if field
        .metadata()
        .keys()
        .any(|k| k.starts_with("pg.") || k == abacus_engine::PG_TYPE_KEY)
    {
        return None;
    }
    let kind = match (field.data_type(), ty) {
        (DataType::Int16, &Type::INT2) => Kind::Int16,
        (DataType::Int32, &Type::INT4) => Kind::Int32,
        (DataType::Int64, &Type::INT8) => Kind::Int64,
        (DataType::Float32, &Type::FLOAT4) => Kind::Float32,
        (DataType::Float64, &Type::FLOAT8) => Kind::Float64,
        (DataType::Boolean, &Type::BOOL) => Kind::Bool,
        (DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View, &Type::TEXT)
        | (DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View, &Type::VARCHAR) => Kind::Text,
        (DataType::Date32, &Type::DATE) => Kind::Date,
        (DataType::Timestamp(unit, None), &Type::TIMESTAMP) => Kind::Timestamp(match unit {
            TimeUnit::Second => 1_000_000,
            TimeUnit::Millisecond => 1_000,
            TimeUnit::Microsecond => 1,
            TimeUnit::Nanosecond => 0,
        }),
        (DataType::Decimal128(_, s), &Type::NUMERIC) if !binary && *s >= 0 => Kind::Decimal(*s),
        _ => return None,
    };
    Some(kind)
}

/// Days from 1970-01-01 to 2000-01-01, PostgreSQL's epoch for binary dates and timestamps.
const PG_EPOCH_DAYS: i64 = 10_957;

/// Writes the value at `row` of a column: its text form, or its binary form.
/// Returns false for NULL (nothing written).
pub(crate) struct Column<'a> {
    kind: Kind,
    binary: bool,
    array: &'a ArrayRef,
}

impl<'a> Column<'a> {
    pub(crate) fn new(kind: (Kind, bool), array: &'a ArrayRef) -> Self {
        Column {
            kind: kind.0,
            binary: kind.1,
            array,
        }
    }

    pub(crate) fn is_null(&self, row: usize) -> bool {
        self.array.is_null(row)
    }

    /// Whether the text form of this column can hold bytes COPY must escape.
    pub(crate) fn needs_escaping(&self) -> bool {
        self.kind == Kind::Text
    }

    /// Appends the (non-NULL) value at `row`.
    pub(crate) fn write(&self, row: usize, out: &mut BytesMut) {
        let a = self.array.as_ref();
        match (self.kind, self.binary) {
            (Kind::Int16, false) => write_int(out, downcast::<Int16Array>(a).value(row)),
            (Kind::Int16, true) => out.put_i16(downcast::<Int16Array>(a).value(row)),
            (Kind::Int32, false) => write_int(out, downcast::<Int32Array>(a).value(row)),
            (Kind::Int32, true) => out.put_i32(downcast::<Int32Array>(a).value(row)),
            (Kind::Int64, false) => write_int(out, downcast::<Int64Array>(a).value(row)),
            (Kind::Int64, true) => out.put_i64(downcast::<Int64Array>(a).value(row)),
            (Kind::Float32, false) => {
                write_float(out, downcast::<Float32Array>(a).value(row) as f64, 6, true)
            }
            (Kind::Float32, true) => out.put_f32(downcast::<Float32Array>(a).value(row)),
            (Kind::Float64, false) => {
                write_float(out, downcast::<Float64Array>(a).value(row), 15, false)
            }
            (Kind::Float64, true) => out.put_f64(downcast::<Float64Array>(a).value(row)),
            (Kind::Bool, false) => out.put_u8(if downcast::<BooleanArray>(a).value(row) {
                b't'
            } else {
                b'f'
            }),
            (Kind::Bool, true) => out.put_u8(downcast::<BooleanArray>(a).value(row) as u8),
            (Kind::Text, _) => out.put_slice(text(a, row).as_bytes()),
            (Kind::Date, false) => {
                let days = downcast::<Date32Array>(a).value(row) as i64;
                let (year, month, day) = civil(days);
                write_date(out, year, month, day);
                if year <= 0 {
                    out.put_slice(b" BC");
                }
            }
            (Kind::Date, true) => {
                let days = downcast::<Date32Array>(a).value(row) as i64;
                out.put_i32((days - PG_EPOCH_DAYS) as i32);
            }
            (Kind::Timestamp(per_unit), false) => write_timestamp(out, micros(a, row, per_unit)),
            (Kind::Timestamp(per_unit), true) => {
                let micros = micros(a, row, per_unit);
                out.put_i64(micros.saturating_sub(PG_EPOCH_DAYS * MICROS_PER_DAY));
            }
            (Kind::Decimal(scale), _) => write_decimal(
                out,
                downcast::<Decimal128Array>(a).value(row),
                scale as usize,
            ),
        }
    }
}

/// A timestamp as microseconds; nanoseconds round to the nearest one, as PostgreSQL's
/// input does.
fn micros(array: &dyn Array, row: usize, per_unit: i64) -> i64 {
    use abacus_engine::datafusion::arrow::datatypes::{
        TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
    };
    match per_unit {
        1 => downcast::<TimestampMicrosecondArray>(array).value(row),
        0 => {
            let nanos = array.as_primitive::<TimestampNanosecondType>().value(row);
            (nanos + 500).div_euclid(1000)
        }
        1_000 => array.as_primitive::<TimestampMillisecondType>().value(row) * 1_000,
        _ => array.as_primitive::<TimestampSecondType>().value(row) * 1_000_000,
    }
}

fn downcast<T: 'static>(array: &dyn Array) -> &T {
    array
        .as_any()
        .downcast_ref::<T>()
        .expect("the column's type was checked when the batch was planned")
}

fn text(array: &dyn Array, row: usize) -> &str {
    match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().value(row),
        DataType::LargeUtf8 => array.as_string::<i64>().value(row),
        _ => array.as_string_view().value(row),
    }
}

fn writers<'a>(batch: &'a RecordBatch, columns: &[(Kind, bool)]) -> Vec<Column<'a>> {
    columns
        .iter()
        .zip(batch.columns())
        .map(|(k, a)| Column::new(*k, a))
        .collect()
}

/// The values of `row`, each as its length (-1 for NULL) and its bytes: the field layout of
/// DataRow and of binary COPY.
fn write_fields(buffer: &mut BytesMut, columns: &[Column], row: usize) {
    for column in columns {
        if column.is_null(row) {
            buffer.put_i32(-1);
            continue;
        }
        let at = buffer.len();
        buffer.put_i32(0);
        column.write(row, buffer);
        let length = (buffer.len() - at - 4) as i32;
        buffer[at..at + 4].copy_from_slice(&length.to_be_bytes());
    }
}

/// The DataRow messages of `batch`, written by `columns` (from [`plan`]) into one buffer
/// that each row is split off (no allocation per row or per value).
pub(crate) fn data_rows(batch: &RecordBatch, columns: &[(Kind, bool)]) -> Vec<DataRow> {
    let columns = writers(batch, columns);
    let mut buffer = BytesMut::with_capacity(batch.num_rows() * (columns.len() * 12 + 8));
    let mut rows = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        write_fields(&mut buffer, &columns, row);
        rows.push(DataRow::new(buffer.split(), columns.len() as i16));
    }
    rows
}

/// COPY's text format for one batch, a CopyData per row (pgwire counts rows by message):
/// `delimiter` between values, `null` for NULL, text escaped as PostgreSQL's COPY does.
/// `None` when a delimiter could appear inside the unescaped values (digits, `-`, `:` …).
pub(crate) fn copy_text_rows(
    batch: &RecordBatch,
    columns: &[(Kind, bool)],
    delimiter: u8,
    null: &[u8],
) -> Option<Vec<bytes::Bytes>> {
    if delimiter.is_ascii_alphanumeric() || b"-+.: \\\r\n".contains(&delimiter) {
        return None;
    }
    let columns = writers(batch, columns);
    let mut buffer = BytesMut::with_capacity(batch.num_rows() * (columns.len() * 10 + 1));
    let mut rows = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                buffer.put_u8(delimiter);
            }
            if column.is_null(row) {
                buffer.put_slice(null);
            } else if column.needs_escaping() {
                escape(
                    &mut buffer,
                    text(column.array.as_ref(), row).as_bytes(),
                    delimiter,
                );
            } else {
                column.write(row, &mut buffer);
            }
        }
        buffer.put_u8(b'\n');
        rows.push(buffer.split().freeze());
    }
    Some(rows)
}

/// COPY text escaping: backslash, newline, carriage return, tab and the delimiter.
fn escape(out: &mut BytesMut, value: &[u8], delimiter: u8) {
    let special = |b: u8| matches!(b, b'\\' | b'\n' | b'\r' | b'\t') || b == delimiter;
    if !value.iter().any(|&b| special(b)) {
        return out.put_slice(value);
    }
    for &b in value {
        match b {
            b'\\' => out.put_slice(b"\\\\"),
            b'\n' => out.put_slice(b"\\n"),
            b'\r' => out.put_slice(b"\\r"),
            b'\t' => out.put_slice(b"\\t"),
            b if b == delimiter => {
                out.put_u8(b'\\');
                out.put_u8(b);
            }
            b => out.put_u8(b),
        }
    }
}

/// COPY's binary format for one batch, a CopyData per row; the file header goes before
/// the first row when `header` is set. Every column must be planned binary.
pub(crate) fn copy_binary_rows(
    batch: &RecordBatch,
    columns: &[(Kind, bool)],
    header: bool,
) -> Vec<bytes::Bytes> {
    let columns = writers(batch, columns);
    let mut buffer = BytesMut::with_capacity(batch.num_rows() * (columns.len() * 12 + 2) + 19);
    if header {
        buffer.put_slice(b"PGCOPY\n\xFF\r\n\x00");
        buffer.put_i32(0);
        buffer.put_i32(0);
    }
    let mut rows = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        buffer.put_i16(columns.len() as i16);
        write_fields(&mut buffer, &columns, row);
        rows.push(buffer.split().freeze());
    }
    rows
}
