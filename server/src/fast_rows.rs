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
const MICROS_PER_DAY: i64 = 86_400_000_000;

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

fn write_int(out: &mut BytesMut, v: impl itoa::Integer) {
    out.put_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// PostgreSQL's float text (extra_float_digits = 1): the shortest digits that read back
/// as the same value, fixed-point for decimal exponents in [-4, `max_fixed`), otherwise
/// `d.ddde±XX`.
fn write_float(out: &mut BytesMut, v: f64, max_fixed: i32, single: bool) {
    if v.is_nan() {
        return out.put_slice(b"NaN");
    }
    if v.is_infinite() {
        return out.put_slice(if v > 0.0 { b"Infinity" } else { b"-Infinity" });
    }
    if v == 0.0 {
        return out.put_slice(if v.is_sign_negative() { b"-0" } else { b"0" });
    }
    let mut buffer = ryu::Buffer::new();
    let shortest = if single {
        buffer.format_finite(v as f32)
    } else {
        buffer.format_finite(v)
    };
    let (negative, shortest) = match shortest.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, shortest),
    };
    let (mantissa, exp10) = match shortest.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (shortest, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all: Vec<u8> = int_part.bytes().chain(frac_part.bytes()).collect();
    let leading = all.iter().take_while(|&&b| b == b'0').count();
    let digits = &all[leading..];
    let digits = &digits[..digits.len() - digits.iter().rev().take_while(|&&b| b == b'0').count()];
    // The exponent of the first significant digit.
    let e = int_part.len() as i32 - leading as i32 - 1 + exp10;
    if negative {
        out.put_u8(b'-');
    }
    if (-4..max_fixed).contains(&e) {
        if e >= 0 {
            let whole = e as usize + 1;
            if digits.len() <= whole {
                out.put_slice(digits);
                out.put_bytes(b'0', whole - digits.len());
            } else {
                out.put_slice(&digits[..whole]);
                out.put_u8(b'.');
                out.put_slice(&digits[whole..]);
            }
        } else {
            out.put_slice(b"0.");
            out.put_bytes(b'0', (-e - 1) as usize);
            out.put_slice(digits);
        }
    } else {
        out.put_u8(digits[0]);
        if digits.len() > 1 {
            out.put_u8(b'.');
            out.put_slice(&digits[1..]);
        }
        out.put_u8(b'e');
        out.put_u8(if e < 0 { b'-' } else { b'+' });
        let magnitude = e.unsigned_abs();
        if magnitude < 10 {
            out.put_u8(b'0');
        }
        write_int(out, magnitude);
    }
}

/// The proleptic Gregorian (year, month, day) of `days` after 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn write_two(out: &mut BytesMut, v: u32) {
    out.put_u8(b'0' + (v / 10) as u8);
    out.put_u8(b'0' + (v % 10) as u8);
}

/// `YYYY-MM-DD`; years before 1 print as PostgreSQL's `BC` years (the caller adds ` BC`).
fn write_date(out: &mut BytesMut, year: i64, month: u32, day: u32) {
    let year = if year <= 0 { 1 - year } else { year };
    if year < 1000 {
        out.put_bytes(b'0', 4 - itoa::Buffer::new().format(year).len());
    }
    write_int(out, year);
    out.put_u8(b'-');
    write_two(out, month);
    out.put_u8(b'-');
    write_two(out, day);
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff]`, the fraction without trailing zeros, as PostgreSQL prints.
fn write_timestamp(out: &mut BytesMut, micros: i64) {
    let days = micros.div_euclid(MICROS_PER_DAY);
    let in_day = micros.rem_euclid(MICROS_PER_DAY);
    let (year, month, day) = civil(days);
    write_date(out, year, month, day);
    let seconds = (in_day / 1_000_000) as u32;
    out.put_u8(b' ');
    write_two(out, seconds / 3600);
    out.put_u8(b':');
    write_two(out, seconds / 60 % 60);
    out.put_u8(b':');
    write_two(out, seconds % 60);
    let mut fraction = (in_day % 1_000_000) as u32;
    if fraction != 0 {
        let mut width = 6;
        while fraction.is_multiple_of(10) {
            fraction /= 10;
            width -= 1;
        }
        out.put_u8(b'.');
        let digits = itoa::Buffer::new().format(fraction).len();
        out.put_bytes(b'0', width - digits);
        write_int(out, fraction);
    }
    if year <= 0 {
        out.put_slice(b" BC");
    }
}

/// A numeric's text: exactly `scale` digits after the point, as PostgreSQL prints it.
fn write_decimal(out: &mut BytesMut, v: i128, scale: usize) {
    if v < 0 {
        out.put_u8(b'-');
    }
    let mut buffer = itoa::Buffer::new();
    let digits = buffer.format(v.unsigned_abs()).as_bytes();
    if scale == 0 {
        return out.put_slice(digits);
    }
    if digits.len() <= scale {
        out.put_slice(b"0.");
        out.put_bytes(b'0', scale - digits.len());
        out.put_slice(digits);
    } else {
        let point = digits.len() - scale;
        out.put_slice(&digits[..point]);
        out.put_u8(b'.');
        out.put_slice(&digits[point..]);
    }
}

/// The DataRow messages of `batch`, written by `columns` (from [`plan`]) into one buffer
/// that each row is split off (no allocation per row or per value).
pub(crate) fn data_rows(batch: &RecordBatch, columns: &[(Kind, bool)]) -> Vec<DataRow> {
    let columns: Vec<Column> = columns
        .iter()
        .zip(batch.columns())
        .map(|(k, a)| Column::new(*k, a))
        .collect();
    let mut buffer = BytesMut::with_capacity(batch.num_rows() * (columns.len() * 12 + 8));
    let mut rows = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        for column in &columns {
            if column.is_null(row) {
                buffer.put_i32(-1);
                continue;
            }
            let at = buffer.len();
            buffer.put_i32(0);
            column.write(row, &mut buffer);
            let length = (buffer.len() - at - 4) as i32;
            buffer[at..at + 4].copy_from_slice(&length.to_be_bytes());
        }
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
    let columns: Vec<Column> = columns
        .iter()
        .zip(batch.columns())
        .map(|(k, a)| Column::new(*k, a))
        .collect();
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
    let columns: Vec<Column> = columns
        .iter()
        .zip(batch.columns())
        .map(|(k, a)| Column::new(*k, a))
        .collect();
    let mut buffer = BytesMut::with_capacity(batch.num_rows() * (columns.len() * 12 + 2) + 19);
    if header {
        buffer.put_slice(b"PGCOPY\n\xFF\r\n\x00");
        buffer.put_i32(0);
        buffer.put_i32(0);
    }
    let mut rows = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        buffer.put_i16(columns.len() as i16);
        for column in &columns {
            if column.is_null(row) {
                buffer.put_i32(-1);
                continue;
            }
            let at = buffer.len();
            buffer.put_i32(0);
            column.write(row, &mut buffer);
            let length = (buffer.len() - at - 4) as i32;
            buffer[at..at + 4].copy_from_slice(&length.to_be_bytes());
        }
        rows.push(buffer.split().freeze());
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float(v: f64) -> String {
        let mut out = BytesMut::new();
        write_float(&mut out, v, 15, false);
        String::from_utf8(out.to_vec()).unwrap()
    }

    fn float4(v: f32) -> String {
        let mut out = BytesMut::new();
        write_float(&mut out, v as f64, 6, true);
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn floats_print_as_postgres_prints_them() {
        // PostgreSQL 15's float8out / float4out with extra_float_digits = 1.
        for (v, pg) in [
            (1.0, "1"),
            (-2.5, "-2.5"),
            (0.1, "0.1"),
            (1e14, "100000000000000"),
            (1e15, "1e+15"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e300, "1.5e+300"),
            (-0.0, "-0"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
            (1234.5678, "1234.5678"),
            (0.30000000000000004, "0.30000000000000004"),
        ] {
            assert_eq!(float(v), pg, "{v}");
        }
        assert_eq!(float4(0.1), "0.1");
        assert_eq!(float4(100000.0), "100000");
        assert_eq!(float4(1000000.0), "1e+06");
        assert_eq!(float4(1.1), "1.1");
    }

    #[test]
    fn dates_timestamps_and_numerics_print_as_postgres_prints_them() {
        let ts = |micros: i64| {
            let mut out = BytesMut::new();
            write_timestamp(&mut out, micros);
            String::from_utf8(out.to_vec()).unwrap()
        };
        assert_eq!(ts(0), "1970-01-01 00:00:00");
        assert_eq!(ts(1_767_237_945_000_000), "2026-01-01 03:25:45");
        assert_eq!(ts(1_767_237_945_120_000), "2026-01-01 03:25:45.12");
        assert_eq!(ts(-1), "1969-12-31 23:59:59.999999");
        assert_eq!(ts(951_782_400_000_000), "2000-02-29 00:00:00");
        // 0044-03-15 BC is year -43 in the proleptic calendar.
        assert_eq!(ts(-63_517_824_000_000_000), "0044-03-15 00:00:00 BC");
        let dec = |v: i128, s: usize| {
            let mut out = BytesMut::new();
            write_decimal(&mut out, v, s);
            String::from_utf8(out.to_vec()).unwrap()
        };
        assert_eq!(dec(12345, 2), "123.45");
        assert_eq!(dec(-5, 2), "-0.05");
        assert_eq!(dec(0, 2), "0.00");
        assert_eq!(dec(42, 0), "42");
    }
}
