//! Time travel: `FROM t VERSION AS OF 3` and `FROM t TIMESTAMP AS OF '2026-01-01 10:00:00'`.
//!
//! sqlparser 0.62 parses these clauses only for the Databricks/Snowflake/MSSQL dialects, and
//! DataFusion's planner rejects a table with a version. Rather than swap the dialect for all
//! of SQL, the clause is rewritten before parsing into a reference to the internal table name
//! `"t@v3"` (aliased back to `t`), which the schema provider resolves to that Delta version.

use abacus_catalog::TableVersion;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use crate::{Error, Result};

const VERSION_MARK: &str = "@v";
const TIMESTAMP_MARK: &str = "@ts";

/// Rewrites every `<table> VERSION AS OF <n>` / `<table> TIMESTAMP AS OF '<ts>'` clause.
pub fn rewrite(sql: &str) -> Result<String> {
    let upper = sql.to_ascii_uppercase();
    if !upper.contains(" AS OF") && !upper.contains("\nAS OF") {
        return Ok(sql.to_string());
    }
    let tokens = Tokenizer::new(&GenericDialect {}, sql)
        .tokenize_with_location()
        .map_err(|e| Error::Syntax(e.to_string()))?;
    let offsets = byte_offsets(sql, &tokens);
    let code: Vec<usize> = (0..tokens.len())
        .filter(|&i| !matches!(tokens[i].token, Token::Whitespace(_)))
        .collect();

    let mut out = String::with_capacity(sql.len() + 16);
    let mut copied = 0;
    let mut k = 1;
    while k + 3 < code.len() {
        let [name, kind, as_, of, value] =
            [code[k - 1], code[k], code[k + 1], code[k + 2], code[k + 3]];
        let mark = match (&tokens[kind].token, &tokens[value].token) {
            (Token::Word(w), Token::Number(n, _)) if w.keyword == Keyword::VERSION => {
                format!("{VERSION_MARK}{n}")
            }
            (Token::Word(w), Token::SingleQuotedString(s)) if w.keyword == Keyword::TIMESTAMP => {
                format!("{TIMESTAMP_MARK}{s}")
            }
            _ => {
                k += 1;
                continue;
            }
        };
        let (Token::Word(table), true, true) = (
            &tokens[name].token,
            is_keyword(&tokens[as_].token, Keyword::AS),
            is_keyword(&tokens[of].token, Keyword::OF),
        ) else {
            k += 1;
            continue;
        };
        let start = offsets[name];
        let end = offsets.get(value + 1).copied().unwrap_or(sql.len());
        out.push_str(&sql[copied..start]);
        let original = &sql[start..offsets[name + 1]];
        out.push('"');
        out.push_str(&format!("{}{mark}", table.value).replace('"', "\"\""));
        out.push('"');
        let has_alias = code.get(k + 4).is_some_and(|&i| match &tokens[i].token {
            Token::Word(w) => w.keyword == Keyword::AS || w.keyword == Keyword::NoKeyword,
            _ => false,
        });
        if !has_alias {
            out.push_str(" AS ");
            out.push_str(original);
        }
        copied = end;
        k += 5;
    }
    out.push_str(&sql[copied..]);
    Ok(out)
}

fn is_keyword(token: &Token, keyword: Keyword) -> bool {
    matches!(token, Token::Word(w) if w.keyword == keyword)
}

/// Byte offset of each token's start (tokens are contiguous, whitespace included).
fn byte_offsets(sql: &str, tokens: &[TokenWithSpan]) -> Vec<usize> {
    let mut line_starts = vec![0];
    line_starts.extend(sql.match_indices('\n').map(|(i, _)| i + 1));
    tokens
        .iter()
        .map(|t| {
            let loc = t.span.start;
            let line_start = line_starts[(loc.line.max(1) - 1) as usize];
            sql[line_start..]
                .char_indices()
                .nth((loc.column.max(1) - 1) as usize)
                .map(|(i, _)| line_start + i)
                .unwrap_or(sql.len())
        })
        .collect()
}

/// Splits an internal versioned name (`t@v3`) into the table and the version it asks for.
pub fn parse_name(name: &str) -> Result<(&str, TableVersion)> {
    if let Some((table, v)) = name.rsplit_once(VERSION_MARK) {
        if let Ok(v) = v.parse::<u64>() {
            return Ok((table, TableVersion::Version(v)));
        }
        return Err(Error::InvalidOption(format!(
            "VERSION AS OF expects a non-negative integer version, got {v}"
        )));
    }
    if let Some((table, ts)) = name.rsplit_once(TIMESTAMP_MARK) {
        return Ok((table, TableVersion::AsOf(parse_timestamp(ts)?)));
    }
    Ok((name, TableVersion::Latest))
}

/// Accepts RFC 3339, `YYYY-MM-DD HH:MM:SS[.f]` (UTC) and `YYYY-MM-DD`.
pub fn parse_timestamp(s: &str) -> Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc());
    }
    Err(Error::InvalidOption(format!(
        "TIMESTAMP AS OF expects 'YYYY-MM-DD[ HH:MM:SS]' or RFC 3339, got '{s}'"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_version_clauses_keeping_aliases() {
        assert_eq!(
            rewrite("SELECT t.a FROM t VERSION AS OF 3 WHERE a > 1").unwrap(),
            "SELECT t.a FROM \"t@v3\" AS t WHERE a > 1"
        );
        assert_eq!(
            rewrite("select * from s.t version as of 12 as old").unwrap(),
            "select * from s.\"t@v12\" as old"
        );
        assert_eq!(
            rewrite("SELECT * FROM t TIMESTAMP AS OF '2026-01-01'").unwrap(),
            "SELECT * FROM \"t@ts2026-01-01\" AS t"
        );
        let untouched = "SELECT 'VERSION AS OF 3' AS x";
        assert_eq!(rewrite(untouched).unwrap(), untouched);
    }

    #[test]
    fn parses_internal_names() {
        assert_eq!(parse_name("t@v3").unwrap(), ("t", TableVersion::Version(3)));
        assert_eq!(parse_name("t").unwrap(), ("t", TableVersion::Latest));
        assert!(parse_name("t@vx").is_err());
        assert!(matches!(
            parse_name("t@ts2026-01-01").unwrap().1,
            TableVersion::AsOf(_)
        ));
    }
}
