//! Printing outputs as an aligned table, CSV, a JSON array or NDJSON.

use std::io::Write;

use abacus_engine::datafusion::arrow::csv::WriterBuilder as CsvWriterBuilder;
use abacus_engine::datafusion::arrow::json::writer::{JsonArray, LineDelimited, WriterBuilder};
use abacus_engine::datafusion::arrow::record_batch::RecordBatch;
use abacus_engine::datafusion::arrow::util::display::FormatOptions;
use abacus_engine::datafusion::arrow::util::pretty::pretty_format_batches_with_options;
use abacus_engine::Output;
use futures::StreamExt;

use crate::progress::Progress;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Csv,
    Json,
    Ndjson,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "table" => Ok(Format::Table),
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            "ndjson" => Ok(Format::Ndjson),
            other => Err(format!(
                "unknown format \"{other}\": use table, csv, json or ndjson"
            )),
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Format::Table => "table",
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Ndjson => "ndjson",
        })
    }
}

fn arrow_err(e: impl std::fmt::Display) -> abacus_engine::Error {
    abacus_engine::Error::Io {
        path: "<output>".into(),
        source: std::io::Error::other(e.to_string()),
    }
}

fn io_err(e: std::io::Error) -> abacus_engine::Error {
    abacus_engine::Error::Io {
        path: "<output>".into(),
        source: e,
    }
}

/// Prints one output. Command tags go to `out` in table format and to stderr otherwise, so
/// machine formats stay parseable. Returns the number of rows printed.
pub async fn print_output(
    output: Output,
    format: Format,
    out: &mut (dyn Write + Send),
    progress: Option<&Progress>,
) -> abacus_engine::Result<u64> {
    let mut stream = match output {
        Output::Command { tag, rows } => {
            if format == Format::Table {
                writeln!(out, "{tag}").map_err(io_err)?;
            } else {
                eprintln!("{tag}");
            }
            return Ok(rows.unwrap_or(0));
        }
        Output::Rows(stream) => stream,
    };
    let schema = stream.schema();
    let mut rows = 0u64;
    match format {
        Format::Table => {
            let mut batches: Vec<RecordBatch> = Vec::new();
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                if let Some(p) = progress {
                    p.add_rows(batch.num_rows() as u64);
                }
                batches.push(batch);
            }
            if let Some(p) = progress {
                p.finish();
            }
            if batches.is_empty() {
                batches.push(RecordBatch::new_empty(schema));
            }
            let options = FormatOptions::default().with_null("NULL");
            let table =
                pretty_format_batches_with_options(&batches, &options).map_err(arrow_err)?;
            writeln!(out, "{table}").map_err(io_err)?;
            writeln!(out, "({rows} row{})", if rows == 1 { "" } else { "s" }).map_err(io_err)?;
        }
        Format::Csv => {
            let mut writer = CsvWriterBuilder::new().with_header(true).build(&mut *out);
            let mut wrote = false;
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                writer.write(&batch).map_err(arrow_err)?;
                wrote = true;
            }
            if !wrote {
                writer
                    .write(&RecordBatch::new_empty(schema))
                    .map_err(arrow_err)?;
            }
        }
        Format::Json => {
            let mut writer = WriterBuilder::new()
                .with_explicit_nulls(true)
                .build::<_, JsonArray>(&mut *out);
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                writer.write(&batch).map_err(arrow_err)?;
            }
            // Also prints `[]` when no rows came.
            writer.finish().map_err(arrow_err)?;
            drop(writer);
            writeln!(out).map_err(io_err)?;
        }
        Format::Ndjson => {
            let mut writer = WriterBuilder::new()
                .with_explicit_nulls(true)
                .build::<_, LineDelimited>(&mut *out);
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                writer.write(&batch).map_err(arrow_err)?;
            }
            writer.finish().map_err(arrow_err)?;
        }
    }
    out.flush().map_err(io_err)?;
    Ok(rows)
}
