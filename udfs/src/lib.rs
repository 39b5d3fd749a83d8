//! Statistical and business SQL functions for A/B tests, one file per family.

mod business;
mod cuped;
mod dist;
pub mod docs;
mod mann_whitney;
mod moments;
mod p_adjust;
mod params;
mod power;
mod srm;
mod ttest;
mod ztest;

use datafusion::logical_expr::{AggregateUDF, ScalarUDF, WindowUDF};
use datafusion::prelude::SessionContext;

pub use docs::SECTION;

/// Every aggregate function of this crate.
pub fn aggregate_functions() -> Vec<AggregateUDF> {
    vec![
        AggregateUDF::from(ttest::TTest::welch()),
        AggregateUDF::from(ttest::TTest::student()),
        AggregateUDF::from(mann_whitney::MannWhitney::new()),
        AggregateUDF::from(ztest::ConversionZTest::new()),
        AggregateUDF::from(srm::Srm::new()),
        AggregateUDF::from(cuped::Cuped::new()),
        AggregateUDF::from(business::RepeatRate::new()),
        AggregateUDF::from(business::WeightedSum::quiz_weight()),
        AggregateUDF::from(business::WeightedSum::client_rating()),
    ]
}

/// Every scalar function of this crate.
pub fn scalar_functions() -> Vec<ScalarUDF> {
    let mut out = vec![
        ScalarUDF::from(ztest::ProportionsZTest::new()),
        ScalarUDF::from(srm::SrmTest::new()),
    ];
    out.extend(power::Kind::ALL.map(|k| ScalarUDF::from(power::PowerFunction::new(k))));
    out
}

/// Every window function of this crate.
pub fn window_functions() -> Vec<WindowUDF> {
    vec![WindowUDF::from(p_adjust::PAdjust::new())]
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
