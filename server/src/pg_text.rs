//! PostgreSQL's text forms of numbers, dates and timestamps (`float8out`, `date_out`,
//! `timestamp_out` with DateStyle ISO and extra_float_digits 1), written into a buffer.

use bytes::{BufMut, BytesMut};

pub(crate) const MICROS_PER_DAY: i64 = 86_400_000_000;

pub(crate) fn write_int(out: &mut BytesMut, v: impl itoa::Integer) {
    out.put_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// PostgreSQL's float text (extra_float_digits = 1): the shortest digits that read back
/// as the same value, fixed-point for decimal exponents in [-4, `max_fixed`), otherwise
/// `d.ddde±XX`.
pub(crate) fn write_float(out: &mut BytesMut, v: f64, max_fixed: i32, single: bool) {
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
pub(crate) fn civil(days: i64) -> (i64, u32, u32) {
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
pub(crate) fn write_date(out: &mut BytesMut, year: i64, month: u32, day: u32) {
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
pub(crate) fn write_timestamp(out: &mut BytesMut, micros: i64) {
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
pub(crate) fn write_decimal(out: &mut BytesMut, v: i128, scale: usize) {
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
