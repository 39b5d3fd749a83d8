//! Per-statement limits: `statement_timeout` (PostgreSQL's setting and units) ends a statement
//! with 57014 wherever it is (planning, writing, or while its rows stream); the memory limit
//! gives each session its own DataFusion memory pool, so one query over it fails with 53200
//! and the others keep running.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::execution::{RecordBatchStream, SendableRecordBatchStream};
use futures::Stream;
use tokio::time::{Instant, Sleep};

/// PostgreSQL's message, matched by the SQLSTATE mapping.
pub const TIMEOUT_MESSAGE: &str = "canceling statement due to statement timeout";

/// `statement_timeout` as PostgreSQL reads it: a number of milliseconds, or a number with a
/// unit (`ms`, `s`, `min`, `h`, `d`); 0 turns it off.
pub fn parse_duration(text: &str) -> Result<Option<Duration>, String> {
    let t = text.trim().trim_matches('\'').trim().to_ascii_lowercase();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| {
        format!("invalid value for parameter \"statement_timeout\": \"{text}\"; use e.g. 5000, '5s' or '1min'")
    })?;
    let ms = match unit.trim() {
        "" | "ms" => n,
        "s" | "sec" | "second" | "seconds" => n * 1e3,
        "min" | "minute" | "minutes" => n * 60e3,
        "h" | "hour" | "hours" => n * 3600e3,
        "d" | "day" | "days" => n * 86400e3,
        other => {
            return Err(format!(
                "invalid unit \"{other}\" for parameter \"statement_timeout\"; valid units are ms, s, min, h, d"
            ))
        }
    };
    Ok((ms > 0.0).then(|| Duration::from_secs_f64(ms / 1e3)))
}

/// Sizes like `512MB`, `2GiB`, `1073741824`.
pub fn parse_bytes(text: &str) -> Result<usize, String> {
    let t = text.trim().to_ascii_uppercase();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("invalid size {text:?}: use e.g. 512MB or 2GB"))?;
    let factor = match unit.trim() {
        "" | "B" => 1.0,
        "K" | "KB" | "KIB" => 1024.0,
        "M" | "MB" | "MIB" => 1024.0 * 1024.0,
        "G" | "GB" | "GIB" => 1024.0 * 1024.0 * 1024.0,
        "T" | "TB" | "TIB" => 1024.0_f64.powi(4),
        other => {
            return Err(format!(
                "invalid size unit {other:?} in {text:?}: use KB, MB or GB"
            ))
        }
    };
    Ok((n * factor) as usize)
}

pub fn timeout_error() -> DataFusionError {
    DataFusionError::Execution(TIMEOUT_MESSAGE.to_string())
}

/// Rows that stop with the timeout error once the deadline passes.
pub struct Deadline {
    inner: SendableRecordBatchStream,
    sleep: Pin<Box<Sleep>>,
    expired: bool,
}

impl Deadline {
    pub fn wrap(inner: SendableRecordBatchStream, deadline: Instant) -> SendableRecordBatchStream {
        Box::pin(Deadline {
            inner,
            sleep: Box::pin(tokio::time::sleep_until(deadline)),
            expired: false,
        })
    }
}

impl Stream for Deadline {
    type Item = datafusion::error::Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.expired {
            return Poll::Ready(None);
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.expired = true;
            return Poll::Ready(Some(Err(timeout_error())));
        }
        self.inner.as_mut().poll_next(cx)
    }
}

impl RecordBatchStream for Deadline {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }
}

use std::future::Future;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes() {
        assert_eq!(parse_duration("0").unwrap(), None);
        assert_eq!(
            parse_duration("1500").unwrap(),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_duration("'2s'").unwrap(),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            parse_duration("1min").unwrap(),
            Some(Duration::from_secs(60))
        );
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_bytes("512MB").unwrap(), 512 << 20);
        assert_eq!(parse_bytes("2g").unwrap(), 2 << 30);
        assert!(parse_bytes("lots").is_err());
    }
}
