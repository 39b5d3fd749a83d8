//! `DESCRIBE HISTORY`: one row per commit, read from the commit files of the Delta log.

use chrono::{DateTime, Utc};
use deltalake::kernel::CommitInfo;
use deltalake::logstore::LogStore;
use deltalake::DeltaResult;

/// One commit of a table as users see it.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    pub version: u64,
    pub timestamp: Option<DateTime<Utc>>,
    pub operation: String,
    pub rows_added: Option<u64>,
    pub rows_removed: Option<u64>,
    /// The operation's parameters (mode, predicate, restored version …) as JSON.
    pub parameters: String,
}

impl HistoryEntry {
    pub(crate) fn from_commit(version: u64, info: CommitInfo) -> Self {
        let metric = |name: &str| {
            info.info
                .get("operationMetrics")
                .and_then(|m| m.get(name))
                .and_then(|v| v.as_u64())
        };
        let mut operation = info.operation.clone().unwrap_or_else(|| "UNKNOWN".into());
        let mode = info
            .operation_parameters
            .as_ref()
            .and_then(|p| p.get("mode"))
            .and_then(|m| m.as_str());
        // Abacus creates tables with a write in ErrorIfExists mode: one commit for the
        // schema and the first rows. Users know that as CREATE TABLE.
        if operation == "WRITE" && mode == Some("ErrorIfExists") {
            operation = "CREATE TABLE".into();
        }
        let (rows_added, rows_removed) = match operation.as_str() {
            "WRITE" | "CREATE TABLE" | "CREATE OR REPLACE TABLE" => {
                (metric("num_added_rows").or(Some(0)), Some(0))
            }
            "DELETE" => (Some(0), metric("num_deleted_rows")),
            "UPDATE" => (metric("num_updated_rows"), metric("num_updated_rows")),
            _ => (None, None),
        };
        let parameters = info
            .operation_parameters
            .as_ref()
            .map(|p| serde_json::to_string(p).unwrap_or_default())
            .unwrap_or_default();
        Self {
            version,
            timestamp: info.timestamp.and_then(DateTime::from_timestamp_millis),
            operation,
            rows_added,
            rows_removed,
            parameters,
        }
    }
}

/// The `commitInfo` action of one commit, `None` when the commit file is gone.
pub(crate) async fn commit_info(
    store: &dyn LogStore,
    version: u64,
) -> DeltaResult<Option<CommitInfo>> {
    let Some(bytes) = store.read_commit_entry(version).await? else {
        return Ok(None);
    };
    for line in bytes.split(|b| *b == b'\n') {
        #[derive(serde::Deserialize)]
        struct Action {
            #[serde(rename = "commitInfo")]
            commit_info: Option<CommitInfo>,
        }
        if let Ok(Action {
            commit_info: Some(info),
        }) = serde_json::from_slice::<Action>(line)
        {
            return Ok(Some(info));
        }
    }
    Ok(Some(CommitInfo::default()))
}
