//! Backslash commands: `\dt`, `\d NAME`, `\dn`, `\df`, `\timing`, `\format`, `\i`, `\?`, `\q`.

use crate::Format;

pub enum Meta {
    Quit,
    Help,
    Timing,
    SetFormat(Option<Format>),
    Include(String),
    /// A statement to run as if typed (`\ask` → `ASK` statement).
    Sql(String),
    /// A catalog listing: SQL to run and print as a table, and what to say when it is empty.
    Listing {
        sql: String,
        empty: String,
    },
}

pub const HELP: &str = "\
General
  \\q                 quit
  \\?                 this help
  \\timing            toggle printing each statement's duration
  \\format [FMT]      show or set the output format: table, csv, json, ndjson
  \\i FILE            run the statements in FILE
Questions
  \\ask QUESTION      answer a question in Russian or English (prints the SQL, then rows)
  \\good              confirm the last answer: it is reused and shown to the LLM as an example
Catalog
  \\dt                list tables and views
  \\d NAME            describe a table or view (schema.name or name)
  \\dn                list schemas
  \\df [PATTERN]      list functions whose name contains PATTERN
SQL statements end with ';' and may span lines. Ctrl-C cancels a running query.";

fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

const USER_SCHEMAS: &str = "NOT IN ('information_schema', 'pg_catalog')";

pub fn parse(line: &str, default_schema: &str) -> Result<Meta, String> {
    let line = line.trim().trim_end_matches(';').trim();
    let (cmd, arg) = match line.split_once(char::is_whitespace) {
        Some((c, a)) => (c, a.trim()),
        None => (line, ""),
    };
    let arg = (!arg.is_empty()).then_some(arg);
    Ok(match (cmd, arg) {
        ("\\q", _) => Meta::Quit,
        ("\\?" | "\\h" | "\\help", _) => Meta::Help,
        ("\\timing", _) => Meta::Timing,
        ("\\format", None) => Meta::SetFormat(None),
        ("\\format", Some(f)) => Meta::SetFormat(Some(f.parse()?)),
        ("\\i", Some(path)) => Meta::Include(path.to_string()),
        ("\\i", None) => return Err("\\i needs a file name".into()),
        ("\\ask", Some(q)) => Meta::Sql(format!("ASK {}", literal(q))),
        ("\\ask", None) => {
            return Err("\\ask needs a question, e.g. \\ask Сколько заказов сегодня?".into())
        }
        ("\\good", _) => Meta::Sql("ASK CONFIRM".into()),
        ("\\dt" | "\\d", None) => Meta::Listing {
            sql: format!(
                "SELECT table_schema AS schema, table_name AS name, \
                 CASE table_type WHEN 'BASE TABLE' THEN 'table' WHEN 'VIEW' THEN 'view' \
                 ELSE lower(table_type) END AS type \
                 FROM information_schema.tables WHERE table_schema {USER_SCHEMAS} ORDER BY 1, 2"
            ),
            empty: "Did not find any tables.".into(),
        },
        ("\\d", Some(name)) => {
            let name = name.trim_matches('"');
            let (schema, table) = name.split_once('.').unwrap_or((default_schema, name));
            Meta::Listing {
                sql: format!(
                    "SELECT column_name AS column, data_type AS type, \
                     CASE is_nullable WHEN 'YES' THEN '' ELSE 'not null' END AS nullable \
                     FROM information_schema.columns \
                     WHERE table_schema = {} AND table_name = {} ORDER BY ordinal_position",
                    literal(schema),
                    literal(table)
                ),
                empty: format!("Did not find any relation named \"{name}\"."),
            }
        }
        ("\\dn", _) => Meta::Listing {
            sql: format!(
                "SELECT schema_name AS name FROM information_schema.schemata \
                 WHERE schema_name {USER_SCHEMAS} ORDER BY 1"
            ),
            empty: "Did not find any schemas.".into(),
        },
        ("\\df", pattern) => Meta::Listing {
            sql: format!(
                "SELECT routine_name AS name, lower(function_type) AS kind, \
                 min(syntax_example) AS syntax, min(description) AS description \
                 FROM information_schema.routines WHERE routine_name LIKE {} \
                 GROUP BY 1, 2 ORDER BY 1, 2",
                literal(&format!("%{}%", pattern.unwrap_or("")))
            ),
            empty: "Did not find any functions.".into(),
        },
        (other, _) => return Err(format!("invalid command {other}; try \\? for help")),
    })
}
