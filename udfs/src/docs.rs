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

/// docs/functions.md: every function of this crate, from the same documentation that
/// `information_schema.routines` serves.
pub fn markdown() -> String {
    let mut entries: Vec<(String, &'static str, &Documentation)> = Vec::new();
    let aggregates = crate::aggregate_functions();
    let scalars = crate::scalar_functions();
    let windows = crate::window_functions();
    for f in &aggregates {
        entries.push((
            f.name().to_string(),
            "aggregate",
            f.documentation().expect("documented"),
        ));
    }
    for f in &scalars {
        entries.push((
            f.name().to_string(),
            "scalar",
            f.documentation().expect("documented"),
        ));
    }
    for f in &windows {
        entries.push((
            f.name().to_string(),
            "window",
            f.documentation().expect("documented"),
        ));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::from(
        "# Statistical and business functions\n\n\
         Generated from the functions' own documentation (`abacus_udfs::docs::markdown`); the \
         REPL's `\\df` shows the same text. Two-sample functions take long format: one row per \
         observation, `is_treatment` BOOLEAN or an integer (0 = control, anything else = \
         treatment); statistics and intervals are for treatment − control.\n\n\
         | function | kind | summary |\n|---|---|---|\n",
    );
    for (name, kind, doc) in &entries {
        let summary = doc
            .description
            .split(". ")
            .next()
            .unwrap_or("")
            .trim_end_matches('.');
        out.push_str(&format!("| [`{name}`](#{name}) | {kind} | {summary} |\n"));
    }
    for (name, kind, doc) in &entries {
        out.push_str(&format!(
            "\n## {name}\n\n*{kind}* — `{}`\n\n{}\n",
            doc.syntax_example, doc.description
        ));
        if let Some(args) = &doc.arguments {
            out.push_str("\n| argument | meaning |\n|---|---|\n");
            for (arg, text) in args {
                out.push_str(&format!("| `{arg}` | {text} |\n"));
            }
        }
        if let Some(example) = &doc.sql_example {
            out.push_str(&format!("\n```sql\n{example}\n```\n"));
        }
    }
    out
}
