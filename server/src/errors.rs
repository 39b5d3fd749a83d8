//! Engine errors as PostgreSQL errors: the one place SQLSTATEs reach the wire.

use pgwire::error::{ErrorInfo, PgWireError};

pub fn to_pg_error(e: &abacus_engine::Error) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".to_string(),
        e.sqlstate().to_string(),
        e.to_string(),
    )))
}
