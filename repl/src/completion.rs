//! Tab completion of keywords, schemas, tables, columns and functions; multi-line input
//! that continues until the statement's closing `;`.

use std::sync::{Arc, RwLock};

use abacus_engine::datafusion::arrow::util::display::array_value_to_string;
use abacus_engine::datafusion::sql::sqlparser::keywords::ALL_KEYWORDS;
use abacus_engine::Output;
use futures::StreamExt;
use rustyline::completion::{Completer, Pair};
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper, Highlighter, Hinter};

use crate::Backend;

/// Names known to the catalog, refreshed after statements that change it.
#[derive(Debug, Default, Clone)]
pub struct Names {
    pub schemas: Vec<String>,
    /// `(schema, table)`.
    pub tables: Vec<(String, String)>,
    pub columns: Vec<String>,
    pub functions: Vec<String>,
}

impl Names {
    pub async fn load(backend: &dyn Backend) -> Names {
        let mut names = Names::default();
        let rows = |sql: &'static str| async move { query_strings(backend, sql).await };
        for row in rows(
            "SELECT schema_name FROM information_schema.schemata \
             WHERE schema_name NOT IN ('information_schema', 'pg_catalog')",
        )
        .await
        {
            names.schemas.push(row[0].clone());
        }
        for row in rows(
            "SELECT table_schema, table_name FROM information_schema.tables \
             WHERE table_schema NOT IN ('information_schema', 'pg_catalog')",
        )
        .await
        {
            names.tables.push((row[0].clone(), row[1].clone()));
        }
        for row in rows(
            "SELECT DISTINCT column_name FROM information_schema.columns \
             WHERE table_schema NOT IN ('information_schema', 'pg_catalog')",
        )
        .await
        {
            names.columns.push(row[0].clone());
        }
        for row in rows("SELECT DISTINCT routine_name FROM information_schema.routines").await {
            names.functions.push(row[0].clone());
        }
        names
    }
}

/// Runs `sql` and returns its rows as strings; any failure yields no rows (completion is
/// a convenience and must never break the shell).
pub async fn query_strings(backend: &dyn Backend, sql: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut stream = backend.execute(sql);
    while let Some(Ok(Output::Rows(mut rows))) = stream.next().await {
        while let Some(Ok(batch)) = rows.next().await {
            for r in 0..batch.num_rows() {
                out.push(
                    batch
                        .columns()
                        .iter()
                        .map(|c| array_value_to_string(c, r).unwrap_or_default())
                        .collect(),
                );
            }
        }
    }
    out
}

#[derive(Helper, Hinter, Highlighter)]
pub struct ShellHelper {
    pub names: Arc<RwLock<Names>>,
}

impl Validator for ShellHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        let input = ctx.input();
        let trimmed = input.trim_start();
        if trimmed.is_empty()
            || trimmed.starts_with('\\')
            || abacus_engine::statement_is_complete(input)
        {
            Ok(ValidationResult::Valid(None))
        } else {
            Ok(ValidationResult::Incomplete)
        }
    }
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let start = before
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
            .map(|i| i + before[i..].chars().next().map_or(1, char::len_utf8))
            .unwrap_or(0);
        let word = &before[start..];
        if word.is_empty() {
            return Ok((pos, Vec::new()));
        }
        let names = self.names.read().unwrap_or_else(|p| p.into_inner()).clone();
        Ok((start, candidates(word, &names)))
    }
}

fn candidates(word: &str, names: &Names) -> Vec<Pair> {
    let lower = word.to_lowercase();
    let mut out: Vec<String> = Vec::new();
    if let Some((schema, prefix)) = lower.split_once('.') {
        for (s, t) in &names.tables {
            if s == schema && t.starts_with(prefix) {
                out.push(format!("{s}.{t}"));
            }
        }
    } else {
        let upper = word.chars().next().is_some_and(char::is_uppercase);
        for k in ALL_KEYWORDS {
            if k.to_lowercase().starts_with(&lower) {
                out.push(if upper {
                    k.to_string()
                } else {
                    k.to_lowercase()
                });
            }
        }
        let plain = names
            .schemas
            .iter()
            .chain(names.tables.iter().map(|(_, t)| t))
            .chain(names.columns.iter())
            .chain(names.functions.iter());
        for name in plain {
            if name.to_lowercase().starts_with(&lower) {
                out.push(name.clone());
            }
        }
    }
    out.sort();
    out.dedup();
    out.into_iter()
        .map(|s| Pair {
            display: s.clone(),
            replacement: s,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completes_keywords_tables_and_qualified_names() {
        let names = Names {
            schemas: vec!["payments".into()],
            tables: vec![("payments".into(), "transactions".into())],
            columns: vec!["amount".into()],
            functions: vec!["avg".into()],
        };
        let got = |w: &str| {
            candidates(w, &names)
                .into_iter()
                .map(|p| p.replacement)
                .collect::<Vec<_>>()
        };
        assert!(got("SEL").contains(&"SELECT".to_string()));
        assert!(got("sel").contains(&"select".to_string()));
        assert_eq!(got("payments.tr"), vec!["payments.transactions"]);
        assert!(got("amo").contains(&"amount".to_string()));
        assert!(got("pay").contains(&"payments".to_string()));
    }
}
