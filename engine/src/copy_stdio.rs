//! `COPY … TO STDOUT` and `COPY t FROM STDIN` (psql's `\copy`, psycopg's `cursor.copy`):
//! the engine plans them; a wire front end moves the bytes.
//!
//! COPY FROM STDIN data is spooled to a file by the front end and loaded through the same
//! path as `COPY t FROM 'file'`, so bad rows name their line and nothing half-written is
//! committed. PostgreSQL's text format is turned into CSV on the way (its escapes and `\N`).

use std::io::{BufRead, BufWriter, Write};
use std::path::Path;

use datafusion::execution::SendableRecordBatchStream;
use datafusion::sql::sqlparser::ast::{
    CopyLegacyCsvOption, CopyLegacyOption, CopyOption, CopySource, CopyTarget, Statement,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;

use crate::copy::{self, SpooledCsv};
use crate::names::{resolve_object, QualifiedName};
use crate::{Error, Output, Result, Session};

/// PostgreSQL's three COPY formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireCopyKind {
    Text,
    Csv,
    Binary,
}

/// How rows look on the wire, with PostgreSQL's defaults per format.
#[derive(Debug, Clone)]
pub struct WireCopyFormat {
    pub kind: WireCopyKind,
    pub header: bool,
    pub delimiter: char,
    pub null: String,
    pub quote: char,
    pub escape: char,
}

/// A planned stdio COPY.
pub enum StdioCopy {
    /// Rows to send to the client.
    Out {
        rows: SendableRecordBatchStream,
        format: WireCopyFormat,
    },
    /// The client sends rows for this table; finish with [`Session::finish_copy_in`].
    In(CopyIn),
}

/// A COPY FROM STDIN waiting for its data.
#[derive(Debug, Clone)]
pub struct CopyIn {
    table: QualifiedName,
    pub format: WireCopyFormat,
    /// Columns of the table, for the CopyInResponse.
    pub columns: usize,
}

/// Made-up NULL marker for converted text-format rows: text data cannot contain it.
const NULL_MARK: &str = "\u{1}N\u{1}";

fn format_of(options: &[CopyOption], legacy: &[CopyLegacyOption]) -> Result<WireCopyFormat> {
    let mut kind = WireCopyKind::Text;
    let mut header = false;
    let mut delimiter = None;
    let mut null = None;
    let mut quote = '"';
    let mut escape = None;
    for option in options {
        match option {
            CopyOption::Format(name) => {
                kind = match name.value.to_ascii_lowercase().as_str() {
                    "text" => WireCopyKind::Text,
                    "csv" => WireCopyKind::Csv,
                    "binary" => WireCopyKind::Binary,
                    other => {
                        return Err(Error::InvalidOption(format!(
                    "COPY format \"{other}\" not recognized; STDIN/STDOUT take text, csv or binary"
                )))
                    }
                }
            }
            CopyOption::Header(h) => header = *h,
            CopyOption::Delimiter(c) => delimiter = Some(*c),
            CopyOption::Null(s) => null = Some(s.clone()),
            CopyOption::Quote(c) => quote = *c,
            CopyOption::Escape(c) => escape = Some(*c),
            CopyOption::Encoding(e)
                if e.eq_ignore_ascii_case("utf8") || e.eq_ignore_ascii_case("utf-8") => {}
            other => {
                return Err(Error::InvalidOption(format!(
                    "COPY option {other} is not supported with STDIN/STDOUT"
                )))
            }
        }
    }
    for option in legacy {
        match option {
            CopyLegacyOption::Binary => kind = WireCopyKind::Binary,
            CopyLegacyOption::Delimiter(c) => delimiter = Some(*c),
            CopyLegacyOption::Null(s) => null = Some(s.clone()),
            CopyLegacyOption::Header => header = true,
            CopyLegacyOption::Csv(csv) => {
                kind = WireCopyKind::Csv;
                for o in csv {
                    match o {
                        CopyLegacyCsvOption::Header => header = true,
                        CopyLegacyCsvOption::Quote(c) => quote = *c,
                        CopyLegacyCsvOption::Escape(c) => escape = Some(*c),
                        other => {
                            return Err(Error::InvalidOption(format!(
                                "COPY option {other} is not supported"
                            )))
                        }
                    }
                }
            }
            other => {
                return Err(Error::InvalidOption(format!(
                    "COPY option {other} is not supported"
                )))
            }
        }
    }
    let csv = kind == WireCopyKind::Csv;
    Ok(WireCopyFormat {
        kind,
        header,
        delimiter: delimiter.unwrap_or(if csv { ',' } else { '\t' }),
        null: null.unwrap_or_else(|| if csv { String::new() } else { "\\N".into() }),
        quote,
        escape: escape.unwrap_or(quote),
    })
}

impl Session {
    /// Plans `sql` when it is a COPY to STDOUT or from STDIN; `None` for anything else.
    pub async fn stdio_copy(&self, sql: &str) -> Result<Option<StdioCopy>> {
        let words = crate::session::leading_words(sql, 1);
        if words.first().map(String::as_str) != Some("COPY") {
            return Ok(None);
        }
        let Ok(mut statements) = Parser::parse_sql(&PostgreSqlDialect {}, sql) else {
            return Ok(None);
        };
        let Some(Statement::Copy {
            source,
            to,
            target,
            options,
            legacy_options,
            ..
        }) = statements.pop()
        else {
            return Ok(None);
        };
        if !matches!(target, CopyTarget::Stdin | CopyTarget::Stdout) {
            return Ok(None);
        }
        self.check_may_run(sql)?;
        let format = format_of(&options, &legacy_options)?;
        if to {
            let query = copy::query_of(self, source)?;
            let df = self.context().sql(&query).await?;
            let rows = df.execute_stream().await?;
            return Ok(Some(StdioCopy::Out { rows, format }));
        }
        let CopySource::Table {
            table_name,
            columns,
        } = source
        else {
            return Err(Error::Syntax("COPY FROM STDIN needs a table".into()));
        };
        if !columns.is_empty() {
            return Err(Error::Unsupported(
                "a column list on COPY FROM is not supported; send every column of the table in order"
                    .into(),
            ));
        }
        if format.kind == WireCopyKind::Binary {
            return Err(Error::Unsupported(
                "COPY FROM STDIN in binary format is not supported; use FORMAT text or csv".into(),
            ));
        }
        let table = resolve_object(&table_name, &self.default_schema())?;
        if !self.catalog().table_exists(&table.schema, &table.name) {
            return Err(abacus_catalog::Error::TableNotFound(table.to_string()).into());
        }
        let provider = self
            .context()
            .table_provider(crate::dml::quoted(&table))
            .await?;
        let columns = provider.schema().fields().len();
        Ok(Some(StdioCopy::In(CopyIn {
            table,
            format,
            columns,
        })))
    }

    /// Loads the rows a client sent (spooled in `data`) in one commit.
    pub async fn finish_copy_in(&self, copy: &CopyIn, data: &Path) -> Result<Output> {
        let f = &copy.format;
        let single = |c: char, what: &str| {
            u8::try_from(c as u32).map_err(|_| {
                Error::InvalidOption(format!("{what} must be a single ASCII character"))
            })
        };
        let result = match f.kind {
            WireCopyKind::Csv => {
                let csv = SpooledCsv {
                    header: f.header,
                    delimiter: single(f.delimiter, "DELIMITER")?,
                    quote: single(f.quote, "QUOTE")?,
                    escape: (f.escape != f.quote)
                        .then(|| single(f.escape, "ESCAPE"))
                        .transpose()?,
                    null: Some(f.null.clone()).filter(|n| !n.is_empty()),
                };
                copy::load_spooled(self, &copy.table, data, &csv).await
            }
            _ => {
                let converted = data.with_extension("csv");
                text_to_csv(data, &converted, f)?;
                let csv = SpooledCsv {
                    header: false,
                    delimiter: b',',
                    quote: b'"',
                    escape: None,
                    null: Some(NULL_MARK.into()),
                };
                let result = copy::load_spooled(self, &copy.table, &converted, &csv).await;
                let _ = std::fs::remove_file(&converted);
                result
            }
        };
        result.map_err(|e| match e {
            Error::Load { message, .. } => Error::Load {
                path: "COPY FROM STDIN".into(),
                message,
            },
            other => other,
        })
    }
}

/// PostgreSQL text format (delimiter-separated, backslash escapes, `\N` for NULL) to CSV
/// with every value quoted and NULL as [`NULL_MARK`], line for line.
fn text_to_csv(from: &Path, to: &Path, format: &WireCopyFormat) -> Result<()> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| Error::Io {
            path: path.clone(),
            source,
        }
    };
    let input = std::io::BufReader::new(std::fs::File::open(from).map_err(io(from))?);
    let mut out = BufWriter::new(std::fs::File::create(to).map_err(io(to))?);
    let mut lines = input.split(b'\n').enumerate().peekable();
    if format.header {
        lines.next();
    }
    while let Some((n, line)) = lines.next() {
        let mut line = line.map_err(io(from))?;
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line == b"\\." && lines.peek().is_none() {
            break;
        }
        let text = String::from_utf8(line).map_err(|_| Error::Load {
            path: "COPY FROM STDIN".into(),
            message: format!("line {}: invalid UTF-8", n + 1),
        })?;
        let mut record = String::with_capacity(text.len() + 8);
        for (i, field) in text.split(format.delimiter).enumerate() {
            if i > 0 {
                record.push(',');
            }
            if field == format.null {
                record.push_str(NULL_MARK);
                continue;
            }
            record.push('"');
            for c in unescape(field).chars() {
                if c == '"' {
                    record.push('"');
                }
                record.push(c);
            }
            record.push('"');
        }
        record.push('\n');
        out.write_all(record.as_bytes()).map_err(io(to))?;
    }
    out.flush().map_err(io(to))?;
    Ok(())
}

/// PostgreSQL's text-format escapes: `\b \f \n \r \t \v \\`, octal `\NNN`, hex `\xHH`.
fn unescape(field: &str) -> String {
    if !field.contains('\\') {
        return field.to_string();
    }
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('v') => out.push('\u{b}'),
            Some('x') => {
                let mut value = 0u32;
                let mut digits = 0;
                while digits < 2 {
                    match chars.peek().and_then(|d| d.to_digit(16)) {
                        Some(d) => {
                            value = value * 16 + d;
                            chars.next();
                            digits += 1;
                        }
                        None => break,
                    }
                }
                if digits == 0 {
                    out.push('x');
                } else {
                    out.push(char::from_u32(value).unwrap_or('\u{fffd}'));
                }
            }
            Some(d @ '0'..='7') => {
                let mut value = d.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            value = value * 8 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(value).unwrap_or('\u{fffd}'));
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_escapes_and_nulls_become_csv() {
        assert_eq!(unescape(r"a\tb\\c\nd\x41\101"), "a\tb\\c\ndAA");
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("in");
        let to = dir.path().join("out.csv");
        std::fs::write(&from, "1\tsay \"hi\"\t\\N\n2\t\t\\\\N\n\\.\n").unwrap();
        let format = format_of(&[], &[]).unwrap();
        text_to_csv(&from, &to, &format).unwrap();
        let csv = std::fs::read_to_string(&to).unwrap();
        assert_eq!(
            csv,
            format!("\"1\",\"say \"\"hi\"\"\",{NULL_MARK}\n\"2\",\"\",\"\\N\"\n")
        );
    }
}
