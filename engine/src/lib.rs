//! The Abacus engine: a `Database` over the catalog and a `Session` that runs SQL on DataFusion.

mod analyze;
mod ask;
mod conjunction;
mod constant_plans;
mod copy;
mod copy_stdio;
mod cursors;
mod database;
mod ddl;
mod decimals;
pub mod demo;
mod distinct_counts;
mod dml;
mod dynamic_filters;
mod error;
mod extensions;
mod filter_order;
mod integers;
mod join_estimates;
mod join_modes;
mod join_order;
mod key_ranges;
mod limits;
mod load_error;
mod names;
mod output;
mod page_index;
mod param_casts;
mod pg_catalog;
mod plain_scan;
mod prepared;
mod provider;
mod row_exprs;
mod scan_stats;
mod session;
mod settings;
mod shared_avgs;
mod shared_subplans;
mod small_groups;
mod sorted_scan;
mod split;
mod table_files;
#[cfg(test)]
mod test_util;
mod type_marks;
mod users;
mod versioned;

pub use ask::{write_demo_layers, AskResult, ROW_CAP};
pub use copy_stdio::{CopyIn, StdioCopy, WireCopyFormat, WireCopyKind};
pub use cursors::declared_cursor;
pub use database::{Config, Database};
pub use error::{Error, Result};
pub use limits::{parse_bytes, parse_duration};
pub use output::Output;
pub use pg_catalog::{DUPLICATE_MARK, PG_TYPE_KEY};
pub use prepared::Prepared;
pub use session::Session;
pub use settings::Settings;
pub use split::{split_statements, statement_is_complete};
pub use users::SessionUser;

/// Re-exported so front ends format Arrow data with the engine's exact version.
pub use datafusion;
