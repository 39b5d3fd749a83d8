//! Delta statements SQL lacks: `RESTORE TABLE t TO VERSION AS OF n` and `DESCRIBE HISTORY t`.

use std::sync::Arc;

use abacus_catalog::TableVersion;
use datafusion::arrow::array::{ArrayRef, Int64Array, StringArray, TimestampMillisecondArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::sql::sqlparser::ast::ObjectName;
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::Token;

use crate::names::{resolve_object, QualifiedName};
use crate::{versioned, Error, Output, Result, Session};

fn syntax(usage: &str) -> impl Fn(ParserError) -> Error + '_ {
    move |e| Error::Syntax(format!("{e}; expected {usage}"))
}

fn parser(sql: &str) -> Result<Parser<'static>> {
    static DIALECT: GenericDialect = GenericDialect {};
    Parser::new(&DIALECT)
        .try_with_sql(sql)
        .map_err(|e| Error::Syntax(e.to_string()))
}

fn expect_end(p: &mut Parser, usage: &str) -> Result<()> {
    let _ = p.consume_token(&Token::SemiColon);
    match p.peek_token().token {
        Token::EOF => Ok(()),
        other => Err(Error::Syntax(format!(
            "unexpected {other}; expected {usage}"
        ))),
    }
}

fn table_name(session: &Session, p: &mut Parser, usage: &str) -> Result<QualifiedName> {
    let name: ObjectName = p.parse_object_name(false).map_err(syntax(usage))?;
    let name = resolve_object(&name, &session.default_schema())?;
    if !session.catalog().table_exists(&name.schema, &name.name) {
        return Err(abacus_catalog::Error::TableNotFound(name.to_string()).into());
    }
    Ok(name)
}

const RESTORE_USAGE: &str =
    "RESTORE TABLE name TO VERSION AS OF n | RESTORE TABLE name TO TIMESTAMP AS OF 'YYYY-MM-DD HH:MM:SS'";

/// Parsing stays out of the async fns: sqlparser's `Parser` is not `Send`.
fn parse_restore(session: &Session, sql: &str) -> Result<(QualifiedName, TableVersion)> {
    let usage = RESTORE_USAGE;
    let mut p = parser(sql)?;
    p.next_token(); // RESTORE
    let _ = p.parse_keyword(Keyword::TABLE);
    let name = table_name(session, &mut p, usage)?;
    p.expect_keyword_is(Keyword::TO).map_err(syntax(usage))?;
    let target = if p.parse_keywords(&[Keyword::VERSION, Keyword::AS, Keyword::OF]) {
        TableVersion::Version(p.parse_literal_uint().map_err(syntax(usage))?)
    } else if p.parse_keywords(&[Keyword::TIMESTAMP, Keyword::AS, Keyword::OF]) {
        let text = p.parse_literal_string().map_err(syntax(usage))?;
        TableVersion::AsOf(versioned::parse_timestamp(&text)?)
    } else {
        return Err(Error::Syntax(format!("expected {usage}")));
    };
    expect_end(&mut p, usage)?;
    Ok((name, target))
}

pub async fn restore(session: &Session, sql: &str) -> Result<Output> {
    let (name, target) = parse_restore(session, sql)?;
    let catalog = session.catalog();
    let version = match target {
        TableVersion::Version(v) => v,
        other => catalog
            .table_at(&name.schema, &name.name, other)
            .await?
            .version()
            .unwrap_or(0),
    };
    catalog.restore(&name.schema, &name.name, version).await?;
    Ok(Output::command("RESTORE"))
}

fn parse_history(session: &Session, sql: &str) -> Result<QualifiedName> {
    let usage = "DESCRIBE HISTORY table";
    let mut p = parser(sql)?;
    p.next_token(); // DESCRIBE | DESC
    p.next_token(); // HISTORY
    let name = table_name(session, &mut p, usage)?;
    expect_end(&mut p, usage)?;
    Ok(name)
}

pub async fn history(session: &Session, sql: &str) -> Result<Output> {
    let name = parse_history(session, sql)?;
    let entries = session.catalog().history(&name.schema, &name.name).await?;
    let schema = Arc::new(Schema::new(vec![
        Field::new("version", DataType::Int64, false),
        Field::new(
            "timestamp",
            DataType::Timestamp(TimeUnit::Millisecond, None),
            true,
        ),
        Field::new("operation", DataType::Utf8, false),
        Field::new("rows_added", DataType::Int64, true),
        Field::new("rows_removed", DataType::Int64, true),
        Field::new("parameters", DataType::Utf8, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(
            entries.iter().map(|e| e.version as i64),
        )),
        Arc::new(TimestampMillisecondArray::from_iter(
            entries
                .iter()
                .map(|e| e.timestamp.map(|t| t.timestamp_millis())),
        )),
        Arc::new(StringArray::from_iter_values(
            entries.iter().map(|e| e.operation.as_str()),
        )),
        Arc::new(Int64Array::from_iter(
            entries.iter().map(|e| e.rows_added.map(|n| n as i64)),
        )),
        Arc::new(Int64Array::from_iter(
            entries.iter().map(|e| e.rows_removed.map(|n| n as i64)),
        )),
        Arc::new(StringArray::from_iter_values(
            entries.iter().map(|e| e.parameters.as_str()),
        )),
    ];
    let batch =
        RecordBatch::try_new(schema, columns).map_err(datafusion::error::DataFusionError::from)?;
    Ok(Output::batch(batch))
}
