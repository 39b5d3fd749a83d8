//! The catalog's error type: every failure names the object it concerns.

use deltalake::DeltaTableError;

/// Errors from the data directory, the Delta log or the views file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("schema \"{0}\" does not exist (create it with CREATE SCHEMA {0})")]
    SchemaNotFound(String),
    #[error("schema \"{0}\" already exists")]
    SchemaExists(String),
    #[error("schema \"{0}\" is not empty: drop its tables and views first, or use DROP SCHEMA {0} CASCADE")]
    SchemaNotEmpty(String),
    #[error("table \"{0}\" does not exist")]
    TableNotFound(String),
    #[error("table \"{0}\" already exists")]
    TableExists(String),
    #[error("view \"{0}\" does not exist")]
    ViewNotFound(String),
    #[error("view \"{0}\" already exists")]
    ViewExists(String),
    #[error("role \"{0}\" does not exist")]
    UserNotFound(String),
    #[error("role \"{0}\" already exists")]
    UserExists(String),
    #[error("invalid name \"{0}\": {1}")]
    InvalidName(String, &'static str),
    #[error("table \"{table}\" has no version {version}: {reason}")]
    VersionNotFound {
        table: String,
        version: i64,
        reason: String,
    },
    #[error("concurrent write to table \"{table}\" conflicted and could not be retried: {reason}; run the statement again")]
    Conflict { table: String, reason: String },
    #[error("table \"{table}\": {source}")]
    Delta {
        table: String,
        #[source]
        source: Box<DeltaTableError>,
    },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("catalog file {path} is corrupt: {reason}")]
    CorruptCatalogFile { path: String, reason: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }

    /// Wraps a Delta error, singling out commit conflicts that survived deltalake's retries.
    pub(crate) fn delta(table: &str, source: DeltaTableError) -> Self {
        use deltalake::kernel::transaction::TransactionError;
        match &source {
            DeltaTableError::Transaction {
                source:
                    TransactionError::CommitConflict(_)
                    | TransactionError::MaxCommitAttempts(_)
                    | TransactionError::VersionAlreadyExists(_),
            } => Error::Conflict {
                table: table.to_string(),
                reason: source.to_string(),
            },
            _ => Error::Delta {
                table: table.to_string(),
                source: Box::new(source),
            },
        }
    }
}
