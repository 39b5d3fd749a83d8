//! The one thing the shell needs from a database: run SQL, get outputs.

use abacus_engine::{Output, Session};
use futures::stream::BoxStream;

/// Written against this trait, the shell can drive an embedded session or anything else
/// that speaks in engine outputs.
pub trait Backend: Send + Sync {
    /// Runs the statements of `sql` in order, stopping after the first error.
    fn execute<'a>(&'a self, sql: &str) -> BoxStream<'a, abacus_engine::Result<Output>>;

    /// Messages the last statements left for the user (the SQL an ASK ran, warnings).
    fn take_notices(&self) -> Vec<String> {
        Vec::new()
    }
}

impl Backend for Session {
    fn execute<'a>(&'a self, sql: &str) -> BoxStream<'a, abacus_engine::Result<Output>> {
        Session::execute(self, sql)
    }

    fn take_notices(&self) -> Vec<String> {
        Session::take_notices(self)
    }
}
