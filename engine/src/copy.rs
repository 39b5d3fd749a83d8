//! `COPY t FROM 'file' [WITH (…)]` (append, creating `t` when missing) and
//! `COPY (query) TO 'file' [WITH (…)]`. PostgreSQL's option syntax; formats csv, parquet, json.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{Array, UInt64Array};
use datafusion::arrow::datatypes::Schema;
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::config::{CsvOptions, JsonOptions, TableParquetOptions};
use datafusion::dataframe::{DataFrame, DataFrameWriteOptions};
use datafusion::functions::expr_fn::nullif;
use datafusion::logical_expr::{cast, ident, lit};
use datafusion::prelude::{CsvReadOptions, JsonReadOptions, ParquetReadOptions};
use datafusion::sql::sqlparser::ast::{CopyOption, CopySource, CopyTarget, Statement};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;

use crate::dml::quoted;
use crate::load_error::describe;
use crate::names::resolve_object;
use crate::session::leading_words;
use crate::{Error, Output, Result, Session};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Parquet,
    Json,
}

/// Parsed `WITH (…)` options.
#[derive(Debug)]
struct Options {
    format: Format,
    /// Unlike PostgreSQL, CSV files are read with a header row unless `HEADER false`.
    header: bool,
    delimiter: u8,
    quote: u8,
    escape: Option<u8>,
    null: Option<String>,
}

const USAGE: &str = "COPY table FROM 'path' [WITH (FORMAT csv|parquet|json, HEADER true|false, \
                     DELIMITER ',', NULL '', QUOTE '\"', ESCAPE '\\')] or COPY {table | (query)} TO 'path' [WITH (…)]";

/// Returns `None` for COPY forms DataFusion handles itself (`COPY … TO … STORED AS …`).
pub async fn execute(session: &Session, sql: &str) -> Result<Option<Output>> {
    let Some(statement) = parse(sql)? else {
        return Ok(None);
    };
    run(session, statement).await
}

fn parse(sql: &str) -> Result<Option<Statement>> {
    let statement = match Parser::parse_sql(&PostgreSqlDialect {}, sql) {
        Ok(mut statements) if statements.len() == 1 => statements.remove(0),
        Ok(_) => return Err(Error::Syntax("expected one COPY statement".into())),
        Err(e) => {
            let words = leading_words(sql, 3);
            if words.get(2).map(String::as_str) == Some("FROM") {
                return Err(Error::Syntax(format!("{e}; expected {USAGE}")));
            }
            return Ok(None);
        }
    };
    Ok(matches!(statement, Statement::Copy { .. }).then_some(statement))
}

async fn run(session: &Session, statement: Statement) -> Result<Option<Output>> {
    let Statement::Copy {
        source,
        to,
        target,
        options,
        legacy_options,
        ..
    } = statement
    else {
        return Ok(None);
    };
    if !legacy_options.is_empty() {
        return Err(Error::InvalidOption(format!(
            "old-style COPY options are not supported; write them as WITH (…): {USAGE}"
        )));
    }
    let filename = match target {
        CopyTarget::File { filename } => filename,
        CopyTarget::Stdin | CopyTarget::Stdout => {
            return Err(Error::Unsupported(
                "COPY … STDIN/STDOUT needs a client connection: use psql's \\copy against \
                 `abacus serve`, or name a file"
                    .into(),
            ))
        }
        CopyTarget::Program { .. } => {
            return Err(Error::Unsupported("COPY … PROGRAM is not supported".into()))
        }
    };
    let path = absolute(&filename)?;
    let options = parse_options(&options, &path)?;
    if to {
        copy_to(session, source, &path, &options).await.map(Some)
    } else {
        let CopySource::Table {
            table_name,
            columns,
        } = source
        else {
            return Err(Error::Syntax(format!("COPY FROM needs a table: {USAGE}")));
        };
        if !columns.is_empty() {
            return Err(Error::Unsupported(
                "a column list on COPY FROM is not supported; the file's columns map to the \
                 table's columns in order"
                    .into(),
            ));
        }
        let name = resolve_object(&table_name, &session.default_schema())?;
        copy_from(session, &name, &path, &options).await.map(Some)
    }
}

/// Relative paths resolve against the current directory of this process.
fn absolute(filename: &str) -> Result<PathBuf> {
    let path = Path::new(filename);
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    let cwd = std::env::current_dir().map_err(|e| Error::Io {
        path: ".".into(),
        source: e,
    })?;
    Ok(cwd.join(path))
}

fn single_byte(option: &str, c: char) -> Result<u8> {
    u8::try_from(c as u32)
        .ok()
        .filter(|b| b.is_ascii())
        .ok_or_else(|| {
            Error::InvalidOption(format!(
                "{option} must be a single ASCII character, got '{c}'"
            ))
        })
}

fn parse_options(options: &[CopyOption], path: &Path) -> Result<Options> {
    let from_extension = match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
    {
        Some(e) if e == "parquet" => Format::Parquet,
        Some(e) if e == "json" || e == "ndjson" || e == "jsonl" => Format::Json,
        _ => Format::Csv,
    };
    let mut out = Options {
        format: from_extension,
        header: true,
        delimiter: b',',
        quote: b'"',
        escape: None,
        null: None,
    };
    for option in options {
        match option {
            CopyOption::Format(name) => {
                out.format = match name.value.to_ascii_lowercase().as_str() {
                    "csv" => Format::Csv,
                    "parquet" => Format::Parquet,
                    "json" | "ndjson" => Format::Json,
                    other => {
                        return Err(Error::InvalidOption(format!(
                            "COPY format \"{other}\" is not supported; use csv, parquet or json"
                        )))
                    }
                }
            }
            CopyOption::Header(h) => out.header = *h,
            CopyOption::Delimiter(c) => out.delimiter = single_byte("DELIMITER", *c)?,
            CopyOption::Quote(c) => out.quote = single_byte("QUOTE", *c)?,
            CopyOption::Escape(c) => out.escape = Some(single_byte("ESCAPE", *c)?),
            CopyOption::Null(s) => out.null = Some(s.clone()),
            CopyOption::Encoding(e)
                if e.eq_ignore_ascii_case("utf8") || e.eq_ignore_ascii_case("utf-8") => {}
            other => {
                return Err(Error::InvalidOption(format!(
                    "COPY option {other} is not supported; supported: {USAGE}"
                )))
            }
        }
    }
    Ok(out)
}

fn regex_escape(s: &str) -> String {
    let mut out = String::from("^");
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('$');
    out
}

async fn copy_from(
    session: &Session,
    name: &crate::names::QualifiedName,
    path: &Path,
    options: &Options,
) -> Result<Output> {
    let shown = path.display().to_string();
    if !path.is_file() {
        return Err(Error::Load {
            path: shown,
            message: "no such file (relative paths resolve against the current directory of \
                      the process running the statement)"
                .into(),
        });
    }
    let catalog = session.catalog();
    let exists = catalog.table_exists(&name.schema, &name.name);
    let table_schema: Option<Arc<Schema>> = if exists {
        let provider = session.context().table_provider(quoted(name)).await?;
        Some(provider.schema())
    } else {
        None
    };
    // One reader per file keeps the CSV reader's line numbers counted from the file's start.
    // Without round-robin batches the one stream reaches the writer in the file's order, so
    // a file sorted by its first column loads as a table scanned in that order
    // (sorted_scan.rs); the writer encodes on one task either way.
    let mut state = session.state();
    let optimizer = &mut state.config_mut().options_mut().optimizer;
    optimizer.repartition_file_scans = false;
    optimizer.enable_round_robin_repartition = false;
    let ctx = datafusion::prelude::SessionContext::new_with_state(state.clone());

    let load_error = |e: Error, schema: Option<&Schema>| match e {
        Error::Catalog(abacus_catalog::Error::Conflict { .. }) => e,
        other => Error::Load {
            path: shown.clone(),
            message: describe(&other.to_string(), schema),
        },
    };
    let df = read_file(&ctx, path, options, table_schema.as_deref())
        .await
        .map_err(|e| load_error(e, None))?;
    let file_schema = df.schema().as_arrow().clone();
    let df = match (&table_schema, options.format) {
        (Some(schema), Format::Parquet | Format::Json) => {
            conform(df, schema).map_err(|e| load_error(e, None))?
        }
        _ => df,
    };
    let plan = df.logical_plan().clone();
    let outcome = if exists {
        catalog
            .append(&name.schema, &name.name, plan, Arc::new(state))
            .await
    } else {
        catalog
            .create_table(&name.schema, &name.name, plan, Arc::new(state))
            .await
    }
    .map_err(|e| load_error(e.into(), Some(&file_schema)))?;
    Ok(Output::affected("COPY", outcome.rows))
}

async fn read_file(
    ctx: &datafusion::prelude::SessionContext,
    path: &Path,
    options: &Options,
    schema: Option<&Schema>,
) -> Result<DataFrame> {
    let location = path.to_string_lossy().to_string();
    let extension = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    Ok(match options.format {
        Format::Csv => {
            let base = || {
                let mut read = CsvReadOptions::new()
                    .has_header(options.header)
                    .delimiter(options.delimiter)
                    .quote(options.quote)
                    .file_extension(&extension);
                read.escape = options.escape;
                read.null_regex = options.null.as_deref().map(regex_escape);
                read
            };
            match (options.null.as_deref().filter(|n| !n.is_empty()), schema) {
                (None, Some(schema)) => ctx.read_csv(location, base().schema(schema)).await?,
                (None, None) => ctx.read_csv(location, base()).await?,
                (Some(null), schema) => {
                    // DataFusion 55's CSV reader honours `null_regex` only while inferring a
                    // schema, not while reading rows; so read the columns as text and turn
                    // the NULL marker into NULL ourselves.
                    let target = match schema {
                        Some(s) => s.clone(),
                        None => ctx
                            .read_csv(location.clone(), base())
                            .await?
                            .schema()
                            .as_arrow()
                            .clone(),
                    };
                    let text = Schema::new(
                        target
                            .fields()
                            .iter()
                            .map(|f| Field::new(f.name(), DataType::Utf8, true))
                            .collect::<Vec<_>>(),
                    );
                    let df = ctx.read_csv(location, base().schema(&text)).await?;
                    let exprs: Vec<_> = target
                        .fields()
                        .iter()
                        .map(|f| {
                            cast(nullif(ident(f.name()), lit(null)), f.data_type().clone())
                                .alias(f.name())
                        })
                        .collect();
                    df.select(exprs)?
                }
            }
        }
        Format::Parquet => {
            let read = ParquetReadOptions {
                file_extension: &extension,
                ..Default::default()
            };
            ctx.read_parquet(location, read).await?
        }
        Format::Json => {
            let read = JsonReadOptions {
                file_extension: &extension,
                ..Default::default()
            };
            ctx.read_json(location, read).await?
        }
    })
}

/// Self-describing files map to an existing table by column name, cast to its types.
fn conform(df: DataFrame, schema: &Schema) -> Result<DataFrame> {
    let available: Vec<String> = df
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let mut exprs = Vec::new();
    for field in schema.fields() {
        if !available.iter().any(|a| a == field.name()) {
            return Err(Error::InvalidOption(format!(
                "the file has no column \"{}\" (it has: {})",
                field.name(),
                available.join(", ")
            )));
        }
        exprs.push(cast(ident(field.name()), field.data_type().clone()).alias(field.name()));
    }
    Ok(df.select(exprs)?)
}

/// CSV settings of data a client sent with COPY FROM STDIN, spooled to a file.
pub(crate) struct SpooledCsv {
    pub header: bool,
    pub delimiter: u8,
    pub quote: u8,
    pub escape: Option<u8>,
    pub null: Option<String>,
}

/// Appends spooled client rows to the existing table `name`, in one commit.
pub(crate) async fn load_spooled(
    session: &Session,
    name: &crate::names::QualifiedName,
    path: &Path,
    csv: &SpooledCsv,
) -> Result<Output> {
    let options = Options {
        format: Format::Csv,
        header: csv.header,
        delimiter: csv.delimiter,
        quote: csv.quote,
        escape: csv.escape,
        null: csv.null.clone(),
    };
    copy_from(session, name, path, &options).await
}

/// The query a COPY source stands for (`t [(cols)]` or `(query)`), time travel resolved.
pub(crate) fn query_of(session: &Session, source: CopySource) -> Result<String> {
    let query = match source {
        CopySource::Table {
            table_name,
            columns,
        } => {
            let name = resolve_object(&table_name, &session.default_schema())?;
            let list = if columns.is_empty() {
                "*".to_string()
            } else {
                columns
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            format!("SELECT {list} FROM {}", quoted(&name))
        }
        CopySource::Query(query) => query.to_string(),
    };
    crate::versioned::rewrite(&query)
}

async fn copy_to(
    session: &Session,
    source: CopySource,
    path: &Path,
    options: &Options,
) -> Result<Output> {
    let query = query_of(session, source)?;
    let df = session.context().sql(&query).await?;
    let location = path.to_string_lossy().to_string();
    let write = DataFrameWriteOptions::new().with_single_file_output(true);
    let batches = match options.format {
        Format::Csv => {
            let csv = CsvOptions {
                has_header: Some(options.header),
                delimiter: options.delimiter,
                quote: options.quote,
                escape: options.escape,
                null_value: options.null.clone(),
                ..Default::default()
            };
            df.write_csv(&location, write, Some(csv)).await?
        }
        Format::Parquet => {
            df.write_parquet(&location, write, Some(TableParquetOptions::default()))
                .await?
        }
        Format::Json => {
            df.write_json(&location, write, Some(JsonOptions::default()))
                .await?
        }
    };
    let rows = batches
        .first()
        .and_then(|b| b.column(0).as_any().downcast_ref::<UInt64Array>().cloned())
        .filter(|a| !a.is_empty())
        .map(|a| a.value(0))
        .unwrap_or(0);
    Ok(Output::affected("COPY", rows))
}
