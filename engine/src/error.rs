//! The engine's error type; it knows the SQLSTATE each failure maps to.

use datafusion::error::DataFusionError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Boxed: DataFusion's error is large and most results never carry it.
    #[error("{}", describe(.0))]
    DataFusion(Box<DataFusionError>),
    #[error(transparent)]
    Catalog(#[from] abacus_catalog::Error),
    #[error("syntax error: {0}")]
    Syntax(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    InvalidOption(String),
    #[error("unrecognized configuration parameter \"{0}\"")]
    UnknownSetting(String),
    /// ASK could not be answered (LLM unreachable, timeout, …).
    #[error("{0}")]
    Ask(String),
    /// ASK declined the question; the text says why in the question's language.
    #[error("{0}")]
    AskRefused(String),
    #[error("cursor \"{0}\" already exists")]
    DuplicateCursor(String),
    #[error("cursor \"{0}\" does not exist")]
    UnknownCursor(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("current transaction is aborted, commands ignored until end of transaction block")]
    TransactionAborted,
    /// Bad data in a file being loaded: where, and what was expected.
    #[error("{path}: {message}")]
    Load { path: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<DataFusionError> for Error {
    fn from(e: DataFusionError) -> Self {
        Error::DataFusion(Box::new(e))
    }
}

/// DataFusion's message, except where PostgreSQL's is clearer to a SQL user.
fn describe(e: &DataFusionError) -> String {
    use datafusion::arrow::error::ArrowError;
    match e.find_root() {
        DataFusionError::ArrowError(ae, _) => match ae.as_ref() {
            ArrowError::ArithmeticOverflow(detail) => format!(
                "integer out of range: {}",
                detail.trim_start_matches("Overflow happened on: ")
            ),
            _ => e.to_string(),
        },
        _ => e.to_string(),
    }
}

impl Error {
    /// The PostgreSQL SQLSTATE a client should see for this error.
    pub fn sqlstate(&self) -> &'static str {
        use abacus_catalog::Error as C;
        match self {
            Error::Syntax(_) => "42601",
            Error::Unsupported(_) => "0A000",
            Error::InvalidOption(_) => "22023",
            Error::UnknownSetting(_) => "42704",
            Error::TransactionAborted => "25P02",
            Error::PermissionDenied(_) => "42501",
            Error::DuplicateCursor(_) => "42P03",
            Error::UnknownCursor(_) => "34000",
            Error::Ask(_) => "58000",
            Error::AskRefused(_) => "0A000",
            Error::Load { .. } => "22P02",
            Error::Io { .. } => "58030",
            Error::Catalog(c) => match c {
                C::SchemaNotFound(_) => "3F000",
                C::SchemaExists(_) => "42P06",
                C::SchemaNotEmpty(_) => "2BP01",
                C::TableNotFound(_) | C::ViewNotFound(_) => "42P01",
                C::TableExists(_) | C::ViewExists(_) => "42P07",
                C::InvalidName(..) => "42602",
                C::UserNotFound(_) => "42704",
                C::UserExists(_) => "42710",
                C::VersionNotFound { .. } => "22023",
                C::Conflict { .. } => "40001",
                C::Delta { .. } | C::CorruptCatalogFile { .. } => "XX000",
                C::Io { .. } => "58030",
            },
            Error::DataFusion(e) => datafusion_sqlstate(e),
        }
    }
}

fn datafusion_sqlstate(e: &DataFusionError) -> &'static str {
    match e.find_root() {
        DataFusionError::SQL(..) => "42601",
        DataFusionError::SchemaError(se, _) => match **se {
            datafusion::common::SchemaError::FieldNotFound { .. } => "42703",
            _ => "42P10",
        },
        DataFusionError::Plan(msg) if msg.contains("table") && msg.contains("not found") => "42P01",
        DataFusionError::Plan(msg) if msg.contains("Invalid function") => "42883",
        DataFusionError::Plan(_) => "42804",
        DataFusionError::ArrowError(ae, _) => match **ae {
            datafusion::arrow::error::ArrowError::DivideByZero => "22012",
            datafusion::arrow::error::ArrowError::ArithmeticOverflow(_) => "22003",
            datafusion::arrow::error::ArrowError::CastError(_)
            | datafusion::arrow::error::ArrowError::ParseError(_) => "22P02",
            _ => "XX000",
        },
        DataFusionError::ResourcesExhausted(_) => "53200",
        DataFusionError::Execution(msg)
            if msg == crate::limits::TIMEOUT_MESSAGE
                || msg == "canceling statement due to user request" =>
        {
            "57014"
        }
        DataFusionError::NotImplemented(_) => "0A000",
        _ => "XX000",
    }
}
