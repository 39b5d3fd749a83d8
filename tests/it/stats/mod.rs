//! The statistical functions against shared/stats/stats_vectors.json, and the generic
//! split/merge/batch-size test every aggregate passes.

mod harness;
mod layouts;
mod vectors;
