//! Statistical and business SQL functions for A/B tests, one file per family.

mod dist;
mod docs;
mod mann_whitney;
mod moments;
mod params;
mod ttest;

use datafusion::logical_expr::{AggregateUDF, ScalarUDF, WindowUDF};
use datafusion::prelude::SessionContext;

pub use docs::SECTION;

/// Every aggregate function of this crate.
pub fn aggregate_functions() -> Vec<AggregateUDF> {
    vec![
        AggregateUDF::from(ttest::TTest::welch()),
        AggregateUDF::from(ttest::TTest::student()),
        AggregateUDF::from(mann_whitney::MannWhitney::new()),
    ]
}

/// Every scalar function of this crate.
pub fn scalar_functions() -> Vec<ScalarUDF> {
    vec![]
}

/// Every window function of this crate.
pub fn window_functions() -> Vec<WindowUDF> {
    vec![]
}

/// Registers every function with `ctx`; the engine calls this for each session.
pub fn register_all(ctx: &SessionContext) {
    for f in aggregate_functions() {
        ctx.register_udaf(f);
    }
    for f in scalar_functions() {
        ctx.register_udf(f);
    }
    for f in window_functions() {
        ctx.register_udwf(f);
    }
}
