//! What a statement hands back to a front end.

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;

/// One statement's result. Front ends only turn this into their own bytes.
pub enum Output {
    /// Rows, streamed as they are produced.
    Rows(SendableRecordBatchStream),
    /// A statement without rows: `tag` is PostgreSQL's command tag (`INSERT 0 5`),
    /// `rows` the rows it affected when that is meaningful.
    Command { tag: String, rows: Option<u64> },
}

impl Output {
    pub(crate) fn command(tag: impl Into<String>) -> Self {
        Output::Command {
            tag: tag.into(),
            rows: None,
        }
    }

    pub(crate) fn affected(verb: &str, rows: u64) -> Self {
        Output::Command {
            tag: format!("{verb} {rows}"),
            rows: Some(rows),
        }
    }

    pub(crate) fn batch(batch: RecordBatch) -> Self {
        let schema = batch.schema();
        Output::Rows(Box::pin(RecordBatchStreamAdapter::new(
            schema,
            futures::stream::iter([Ok(batch)]),
        )))
    }
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Output::Rows(s) => write!(f, "Rows({:?})", s.schema()),
            Output::Command { tag, .. } => write!(f, "Command({tag})"),
        }
    }
}
