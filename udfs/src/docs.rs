//! One documentation source per function: it feeds `information_schema.routines` (and so
//! the REPL's `\df`) and docs/functions.md.

use datafusion::logical_expr::{DocSection, Documentation};

pub const SECTION: DocSection = DocSection {
    include: true,
    label: "A/B testing and business metrics",
    description: Some("Statistical tests, power analysis and business metrics for experiments."),
};

pub fn doc(
    description: &str,
    syntax: &str,
    example: &str,
    arguments: &[(&str, &str)],
) -> Documentation {
    let mut builder = Documentation::builder(SECTION, description.to_string(), syntax.to_string())
        .with_sql_example(example.to_string());
    for (name, text) in arguments {
        builder = builder.with_argument(*name, *text);
    }
    builder.build()
}
