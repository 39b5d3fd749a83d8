//! The Abacus data directory: schemas as folders, tables as Delta Lake tables, views in a catalog file.

mod error;
mod files;
mod history;
mod layout;
mod sort_order;
mod tables;
mod users;
mod views;

pub use error::{Error, Result};
pub use history::HistoryEntry;
pub use layout::{validate_name, DataDir, DEFAULT_SCHEMA};
pub use tables::{arrow_columns, Catalog, TableVersion, WriteOutcome};
pub use users::{make_verifier, ScramVerifier, UserRecord};
pub use views::ViewStore;

/// Re-exported so the engine names exactly the Delta version the catalog writes with.
pub use deltalake;
