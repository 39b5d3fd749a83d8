//! Engine outputs as pgwire responses: Arrow batches through arrow-pg's encoders, command
//! tags split into PostgreSQL's verb and row count.

use std::sync::Arc;

use abacus_engine::datafusion::arrow::datatypes::{DataType, Schema};
use abacus_engine::Output;
use arrow_pg::datatypes::{arrow_schema_to_pg_fields, encode_recordbatch};
use futures::{stream, StreamExt};
use pgwire::api::portal::Format;
use pgwire::api::results::{FieldFormat, FieldInfo, QueryResponse, Response, Tag};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::data::DataRow;

pub fn fields(schema: &Schema, format: &Format) -> PgWireResult<Vec<FieldInfo>> {
    let described = described_fields(schema, format)?;
    if !schema
        .fields()
        .iter()
        .any(|f| f.metadata().contains_key(abacus_engine::PG_TYPE_KEY))
    {
        return Ok(described);
    }
    // Text columns holding another type's text form. json's text and binary encodings are
    // both the text, so only the described type changes. The binary forms of regclass,
    // regnamespace and the vectors are numbers the column does not hold, so a client asking
    // for binary gets the column as text (whose binary form is the text).
    Ok(described
        .into_iter()
        .zip(schema.fields().iter())
        .map(|(info, field)| {
            use pgwire::api::Type;
            let kind = field.metadata().get(abacus_engine::PG_TYPE_KEY);
            let text = info.format() == FieldFormat::Text;
            let ty = match kind.map(String::as_str) {
                Some("json") => Type::JSON,
                // name's text and binary forms are both its bytes, as text's are.
                Some("name") => Type::NAME,
                Some("regclass") if text => Type::REGCLASS,
                Some("regnamespace") if text => Type::REGNAMESPACE,
                // Simple types with the vectors' oids: pgwire quotes text values of array
                // types, and a vector's text (`1 2`) is not quoted.
                Some("int2vector") if text => simple("int2vector", &Type::INT2_VECTOR),
                Some("oidvector") if text => simple("oidvector", &Type::OID_VECTOR),
                Some(_) => Type::TEXT,
                None => return info,
            };
            FieldInfo::new(
                info.name().to_string(),
                info.table_id(),
                info.column_id(),
                ty,
                info.format(),
            )
        })
        .collect())
}

fn simple(name: &str, like: &pgwire::api::Type) -> pgwire::api::Type {
    pgwire::api::Type::new(
        name.into(),
        like.oid(),
        postgres_types::Kind::Simple,
        "pg_catalog".into(),
    )
}

fn described_fields(schema: &Schema, format: &Format) -> PgWireResult<Vec<FieldInfo>> {
    let mark = abacus_engine::DUPLICATE_MARK;
    let plain = |f: &abacus_engine::datafusion::arrow::datatypes::Field| {
        !f.name().contains(mark) && f.data_type() != &DataType::Null
    };
    if schema.fields().iter().all(|f| plain(f)) {
        return arrow_schema_to_pg_fields(schema, format, None);
    }
    let described: Vec<_> = schema
        .fields()
        .iter()
        .map(|f| {
            // Columns PostgreSQL names alike (`?column?` twice) were told apart for
            // DataFusion; a bare NULL column is text to PostgreSQL, not `unknown`.
            let name = f.name().split(mark).next().unwrap_or_default().to_string();
            let f = f.as_ref().clone().with_name(name);
            if f.data_type() == &DataType::Null {
                f.with_data_type(DataType::Utf8).with_nullable(true)
            } else {
                f
            }
        })
        .collect();
    arrow_schema_to_pg_fields(&Schema::new(described), format, None)
}

/// `INSERT 0 5` → Tag("INSERT", oid 0, rows 5); `DELETE 3` → Tag("DELETE", rows 3).
pub fn tag(text: &str, rows: Option<u64>) -> Tag {
    let mut words: Vec<&str> = text.split_whitespace().collect();
    if rows.is_some() && words.last().is_some_and(|w| w.parse::<u64>().is_ok()) {
        words.pop();
        if words.first() == Some(&"INSERT") && words.last() == Some(&"0") {
            words.pop();
        }
    }
    let mut tag = Tag::new(&words.join(" "));
    if let Some(n) = rows {
        if text.starts_with("INSERT ") {
            tag = tag.with_oid(0);
        }
        tag = tag.with_rows(n as usize);
    }
    tag
}

pub async fn response(output: Output, format: &Format) -> PgWireResult<Response> {
    match output {
        Output::Command { tag: text, rows } if text.is_empty() && rows.is_none() => {
            Ok(Response::EmptyQuery)
        }
        Output::Command { tag: text, rows } => Ok(match text.as_str() {
            "BEGIN" | "START TRANSACTION" => Response::TransactionStart(Tag::new(&text)),
            "COMMIT" | "ROLLBACK" => Response::TransactionEnd(Tag::new(&text)),
            _ => Response::Execution(tag(&text, rows)),
        }),
        Output::Rows(batches) => {
            let fields = Arc::new(fields(batches.schema().as_ref(), format)?);
            let encoded = fields.clone();
            let rows = batches
                .map(move |batch| {
                    let rows: Box<dyn Iterator<Item = PgWireResult<DataRow>> + Send + Sync> =
                        match batch {
                            Ok(batch) => match crate::fast_rows::plan(&batch, &encoded) {
                                Some(columns) => Box::new(
                                    crate::fast_rows::data_rows(&batch, &columns)
                                        .into_iter()
                                        .map(Ok),
                                ),
                                None => encode_recordbatch(encoded.clone(), batch),
                            },
                            Err(e) => {
                                let e = abacus_engine::Error::from(e);
                                Box::new(std::iter::once(Err(crate::to_pg_error(&e))))
                            }
                        };
                    stream::iter(rows)
                })
                .flatten();
            Ok(Response::Query(QueryResponse::new(fields, rows)))
        }
    }
}

/// Reads a streamed result fully, so that the next statement of a multi-statement query
/// cannot change what this one returns.
pub async fn materialize(output: Output) -> Result<Output, PgWireError> {
    match output {
        Output::Rows(mut rows) => {
            let schema = rows.schema();
            let mut batches = Vec::new();
            while let Some(b) = rows.next().await {
                batches.push(b.map_err(|e| crate::to_pg_error(&e.into()))?);
            }
            let stream =
                abacus_engine::datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(
                    schema,
                    stream::iter(batches.into_iter().map(Ok)),
                );
            Ok(Output::Rows(Box::pin(stream)))
        }
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_split_into_verb_and_rows() {
        assert_eq!(
            tag("INSERT 0 5", Some(5)),
            Tag::new("INSERT").with_oid(0).with_rows(5)
        );
        assert_eq!(tag("DELETE 3", Some(3)), Tag::new("DELETE").with_rows(3));
        assert_eq!(tag("CREATE TABLE", None), Tag::new("CREATE TABLE"));
        assert_eq!(tag("SELECT 2", Some(2)), Tag::new("SELECT").with_rows(2));
    }
}
