//! Shared helpers for the demo generators: seeded randomness, skewed picks, column builders.

use std::sync::Arc;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array, Int64Array,
    StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// ChaCha8 is specified bit for bit, so the same seed gives the same data on every machine.
pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// Rows scaled by the demo's size factor, never fewer than `min`.
pub fn scaled(base: usize, scale: f64, min: usize) -> usize {
    ((base as f64 * scale).round() as usize).max(min)
}

/// An index in `0..n` where low indices are much more likely (a Zipf-like long tail).
pub fn skewed(rng: &mut ChaCha8Rng, n: usize, power: f64) -> usize {
    let u: f64 = rng.random();
    ((u.powf(power) * n as f64) as usize).min(n - 1)
}

/// Picks from `items` by relative `weights`.
pub fn weighted<'a, T>(rng: &mut ChaCha8Rng, items: &'a [(T, f64)]) -> &'a T {
    let total: f64 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.random::<f64>() * total;
    for (item, w) in items {
        if x < *w {
            return item;
        }
        x -= w;
    }
    &items[items.len() - 1].0
}

/// A log-normal draw with the given median and spread (sigma of the log).
pub fn lognormal(rng: &mut ChaCha8Rng, median: f64, sigma: f64) -> f64 {
    let u1: f64 = rng.random::<f64>().max(1e-12);
    let u2: f64 = rng.random();
    let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
    median * (sigma * z).exp()
}

/// A moment in the `days` before `now`, busier in the daytime.
pub fn recent(rng: &mut ChaCha8Rng, now: NaiveDateTime, days: i64) -> NaiveDateTime {
    let back = rng.random_range(0..days * 86_400);
    let t = now - Duration::seconds(back);
    let hour = t
        .time()
        .format("%H")
        .to_string()
        .parse::<i64>()
        .unwrap_or(12);
    // Shift most night-time events into the day, keeping them before `now`. The draw is
    // made for every event, so that the random stream (and every value drawn after it)
    // does not depend on the time of day the demo is generated at.
    let shift = rng.random_bool(0.7);
    if (1..7).contains(&hour) && shift {
        let shifted = t - Duration::hours(8);
        return shifted;
    }
    t
}

pub fn micros(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp_micros()
}

pub fn days(d: NaiveDate) -> i32 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32
}

/// Money in kopecks as NUMERIC(p, 2).
pub fn money(rubles: f64) -> i128 {
    (rubles.max(1.0) * 100.0).round() as i128
}

/// Columns of one table, added in schema order.
pub struct Columns {
    fields: Vec<Field>,
    arrays: Vec<ArrayRef>,
}

impl Columns {
    pub fn new() -> Self {
        Self {
            fields: Vec::new(),
            arrays: Vec::new(),
        }
    }

    fn push(mut self, name: &str, nullable: bool, array: ArrayRef) -> Self {
        self.fields
            .push(Field::new(name, array.data_type().clone(), nullable));
        self.arrays.push(array);
        self
    }

    pub fn i32(self, name: &str, v: Vec<i32>) -> Self {
        self.push(name, false, Arc::new(Int32Array::from(v)))
    }

    pub fn i64(self, name: &str, v: Vec<i64>) -> Self {
        self.push(name, false, Arc::new(Int64Array::from(v)))
    }

    pub fn f64(self, name: &str, v: Vec<f64>) -> Self {
        self.push(name, false, Arc::new(Float64Array::from(v)))
    }

    pub fn bool(self, name: &str, v: Vec<bool>) -> Self {
        self.push(name, false, Arc::new(BooleanArray::from(v)))
    }

    pub fn str<S: AsRef<str>>(self, name: &str, v: Vec<S>) -> Self {
        let array = StringArray::from_iter_values(v.iter().map(|s| s.as_ref()));
        self.push(name, false, Arc::new(array))
    }

    pub fn decimal(self, name: &str, precision: u8, v: Vec<i128>) -> Self {
        let array = Decimal128Array::from(v)
            .with_precision_and_scale(precision, 2)
            .expect("valid decimal precision");
        self.push(name, false, Arc::new(array))
    }

    pub fn date(self, name: &str, v: Vec<NaiveDate>) -> Self {
        let array = Date32Array::from(v.into_iter().map(days).collect::<Vec<_>>());
        self.push(name, false, Arc::new(array))
    }

    pub fn ts(self, name: &str, v: Vec<NaiveDateTime>) -> Self {
        let array = TimestampMicrosecondArray::from(v.into_iter().map(micros).collect::<Vec<_>>());
        self.push(name, false, Arc::new(array))
    }

    pub fn ts_opt(self, name: &str, v: Vec<Option<NaiveDateTime>>) -> Self {
        let array = TimestampMicrosecondArray::from(
            v.into_iter().map(|t| t.map(micros)).collect::<Vec<_>>(),
        );
        self.push(name, true, Arc::new(array))
    }

    pub fn build(self) -> RecordBatch {
        debug_assert!(self.fields.iter().all(
            |f| !matches!(f.data_type(), DataType::Timestamp(u, _) if *u != TimeUnit::Microsecond)
        ));
        RecordBatch::try_new(Arc::new(Schema::new(self.fields)), self.arrays)
            .expect("demo columns have equal lengths")
    }
}
