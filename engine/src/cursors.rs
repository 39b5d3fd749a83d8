//! `DECLARE name CURSOR FOR query`, `FETCH [n|ALL|NEXT] FROM name`, `MOVE`, `CLOSE name|ALL`:
//! server-side cursors (psycopg's named cursors, JDBC-style paging from psql) over the
//! query's stream, so rows are produced only as they are fetched.

use std::collections::{HashMap, VecDeque};

use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::execution::SendableRecordBatchStream;
use futures::StreamExt;

use crate::{Error, Output, Result, Session};

pub(crate) struct Cursor {
    stream: SendableRecordBatchStream,
    pending: VecDeque<RecordBatch>,
    /// WITH HOLD cursors survive COMMIT/ROLLBACK.
    hold: bool,
}

#[derive(Default)]
pub(crate) struct Cursors(tokio::sync::Mutex<HashMap<String, Cursor>>);

fn ident(word: &str) -> String {
    match word.strip_prefix('"').and_then(|w| w.strip_suffix('"')) {
        Some(quoted) => quoted.replace("\"\"", "\""),
        None => word.to_lowercase(),
    }
}

/// Splits off the first word (a quoted identifier stays whole).
fn next_word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    if s.starts_with('"') {
        let mut end = 1;
        let bytes = s.as_bytes();
        while end < bytes.len() {
            if bytes[end] == b'"' {
                if bytes.get(end + 1) == Some(&b'"') {
                    end += 2;
                    continue;
                }
                return (&s[..=end], &s[end + 1..]);
            }
            end += 1;
        }
        return (s, "");
    }
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    (&s[..end], &s[end..])
}

impl Session {
    pub(crate) async fn declare(&self, sql: &str) -> Result<Output> {
        let text = crate::session::strip_comments(sql)
            .trim()
            .trim_end_matches(';');
        let (_, rest) = next_word(text); // DECLARE
        let (name, mut rest) = next_word(rest);
        if name.is_empty() {
            return Err(Error::Syntax(
                "DECLARE needs a cursor name: DECLARE c CURSOR FOR SELECT …".into(),
            ));
        }
        let mut hold = false;
        loop {
            let (w, after) = next_word(rest);
            match w.to_ascii_uppercase().as_str() {
                "BINARY" | "INSENSITIVE" | "ASENSITIVE" | "NO" | "SCROLL" | "CURSOR"
                | "WITHOUT" => {}
                "WITH" => {
                    let (h, after2) = next_word(after);
                    if h.eq_ignore_ascii_case("HOLD") {
                        hold = true;
                        rest = after2;
                        continue;
                    }
                }
                "HOLD" => {}
                "FOR" => {
                    rest = after;
                    break;
                }
                "" => {
                    return Err(Error::Syntax(
                        "DECLARE … CURSOR needs FOR followed by a query".into(),
                    ))
                }
                other => return Err(Error::Syntax(format!("unexpected {other:?} in DECLARE"))),
            }
            rest = after;
        }
        let stream = match Box::pin(self.execute_one(rest.trim())).await? {
            Output::Rows(stream) => stream,
            Output::Command { .. } => {
                return Err(Error::Syntax(
                    "DECLARE … CURSOR FOR needs a query that returns rows".into(),
                ))
            }
        };
        let name = ident(name);
        let mut cursors = self.cursors.0.lock().await;
        if cursors.contains_key(&name) {
            return Err(Error::DuplicateCursor(name));
        }
        cursors.insert(
            name,
            Cursor {
                stream,
                pending: VecDeque::new(),
                hold,
            },
        );
        Ok(Output::command("DECLARE CURSOR"))
    }

    /// `FETCH` (rows) and `MOVE` (skips them, answers `MOVE n`).
    pub(crate) async fn fetch(&self, sql: &str, skip: bool) -> Result<Output> {
        let text = crate::session::strip_comments(sql)
            .trim()
            .trim_end_matches(';');
        let words: Vec<&str> = {
            let mut v = Vec::new();
            let mut rest = text;
            loop {
                let (w, after) = next_word(rest);
                if w.is_empty() {
                    break;
                }
                v.push(w);
                rest = after;
            }
            v
        };
        // FETCH [FORWARD|NEXT] [count|ALL] [FROM|IN] name
        let mut count: Option<usize> = Some(1);
        let mut i = 1;
        while i + 1 < words.len() {
            let w = words[i].to_ascii_uppercase();
            match w.as_str() {
                "FORWARD" | "NEXT" => {}
                "ALL" => count = None,
                "FROM" | "IN" => {}
                "BACKWARD" | "PRIOR" | "FIRST" | "LAST" | "ABSOLUTE" | "RELATIVE" => {
                    return Err(Error::Unsupported(format!(
                        "FETCH {w}: Abacus cursors only move forward (NO SCROLL)"
                    )))
                }
                n => {
                    count = Some(n.parse().map_err(|_| {
                        Error::Syntax(format!(
                            "FETCH expects a row count, ALL or FROM, found {:?}",
                            words[i]
                        ))
                    })?)
                }
            }
            i += 1;
        }
        let Some(name) = words.last().filter(|_| words.len() > 1).map(|n| ident(n)) else {
            return Err(Error::Syntax(
                "FETCH needs a cursor name: FETCH 100 FROM c".into(),
            ));
        };
        let mut cursors = self.cursors.0.lock().await;
        let cursor = cursors
            .get_mut(&name)
            .ok_or_else(|| Error::UnknownCursor(name.clone()))?;
        let schema = cursor.stream.schema();
        let mut out: Vec<RecordBatch> = Vec::new();
        let mut have = 0usize;
        while count.is_none_or(|c| have < c) {
            let batch = match cursor.pending.pop_front() {
                Some(b) => b,
                None => match cursor.stream.next().await {
                    Some(b) => b?,
                    None => break,
                },
            };
            let take = count.map_or(batch.num_rows(), |c| (c - have).min(batch.num_rows()));
            if take < batch.num_rows() {
                cursor
                    .pending
                    .push_front(batch.slice(take, batch.num_rows() - take));
            }
            have += take;
            out.push(batch.slice(0, take));
        }
        if skip {
            return Ok(Output::affected("MOVE", have as u64));
        }
        let batch =
            concat_batches(&schema, &out).map_err(datafusion::error::DataFusionError::from)?;
        Ok(Output::batch(batch))
    }

    pub(crate) async fn close_cursor(&self, sql: &str) -> Result<Output> {
        let text = crate::session::strip_comments(sql)
            .trim()
            .trim_end_matches(';');
        let (_, rest) = next_word(text);
        let (name, _) = next_word(rest);
        let mut cursors = self.cursors.0.lock().await;
        if name.eq_ignore_ascii_case("ALL") {
            cursors.clear();
        } else if cursors.remove(&ident(name)).is_none() {
            return Err(Error::UnknownCursor(ident(name)));
        }
        Ok(Output::command("CLOSE CURSOR"))
    }

    /// COMMIT and ROLLBACK close the cursors not declared WITH HOLD, as in PostgreSQL.
    pub(crate) async fn end_transaction_cursors(&self) {
        self.cursors.0.lock().await.retain(|_, c| c.hold);
    }
}

/// The cursor a `DECLARE` statement names, for front ends that expose cursors as portals.
pub fn declared_cursor(sql: &str) -> Option<String> {
    let text = crate::session::strip_comments(sql).trim();
    let (first, rest) = next_word(text);
    if !first.eq_ignore_ascii_case("DECLARE") {
        return None;
    }
    let (name, _) = next_word(rest);
    (!name.is_empty()).then(|| ident(name))
}

impl Session {
    /// The columns an open cursor returns.
    pub async fn cursor_schema(
        &self,
        name: &str,
    ) -> Option<datafusion::arrow::datatypes::SchemaRef> {
        self.cursors
            .0
            .lock()
            .await
            .get(name)
            .map(|c| c.stream.schema())
    }
}
