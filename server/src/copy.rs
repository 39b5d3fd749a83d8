//! COPY over the wire: `COPY … TO STDOUT` streams CopyData rows encoded by arrow-pg, and
//! `COPY t FROM STDIN` spools the client's CopyData to a temporary file that the engine
//! loads in one commit when CopyDone arrives.

use std::collections::VecDeque;
use std::fmt::Debug;
use std::io::Write;
use std::sync::Arc;

use abacus_engine::datafusion::arrow::record_batch::RecordBatch;
use abacus_engine::datafusion::execution::SendableRecordBatchStream;
use abacus_engine::{CopyIn, StdioCopy, WireCopyFormat, WireCopyKind};
use arrow_pg::datatypes::arrow_schema_to_pg_fields;
use arrow_pg::encoder::encode_value;
use async_trait::async_trait;
use bytes::Bytes;
use futures::{Sink, SinkExt, StreamExt};
use pgwire::api::copy::CopyHandler;
use pgwire::api::portal::Format;
use pgwire::api::results::{
    CopyCsvOptions, CopyEncoder, CopyResponse, CopyTextOptions, FieldInfo, Response,
};
use pgwire::api::ClientInfo;
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::copy::{CopyData, CopyDone, CopyFail};
use pgwire::messages::PgWireBackendMessage;

use crate::encode::tag;
use crate::handler::Connection;
use crate::to_pg_error;

/// A COPY FROM STDIN in progress: where its data goes until CopyDone.
pub struct Spool {
    copy: CopyIn,
    file: tempfile::NamedTempFile,
}

impl Connection {
    /// Answers a COPY to STDOUT or from STDIN; `None` when `sql` is not one.
    pub(crate) async fn stdio_copy(&self, sql: &str) -> Option<PgWireResult<Response>> {
        let planned = match self.session.stdio_copy(sql).await {
            Ok(None) => return None,
            Ok(Some(planned)) => planned,
            Err(e) => return Some(Err(to_pg_error(&e))),
        };
        Some(match planned {
            StdioCopy::Out { rows, format } => copy_out(rows, &format),
            StdioCopy::In(copy) => {
                let columns = copy.columns;
                match tempfile::Builder::new().prefix("abacus-copy-").tempfile() {
                    Ok(file) => {
                        *self.copy_in.lock().await = Some(Spool { copy, file });
                        Ok(Response::CopyIn(CopyResponse::new(
                            0,
                            columns,
                            futures::stream::empty(),
                        )))
                    }
                    Err(e) => Err(PgWireError::IoError(e)),
                }
            }
        })
    }
}

fn copy_out(rows: SendableRecordBatchStream, format: &WireCopyFormat) -> PgWireResult<Response> {
    let binary = format.kind == WireCopyKind::Binary;
    let wire = if binary {
        Format::UnifiedBinary
    } else {
        Format::UnifiedText
    };
    let schema = rows.schema();
    let fields = Arc::new(arrow_schema_to_pg_fields(&schema, &wire, None)?);
    let columns = fields.len();
    let encoder = match format.kind {
        WireCopyKind::Binary => CopyEncoder::new_binary(fields.clone()),
        WireCopyKind::Text => CopyEncoder::new_text(
            fields.clone(),
            CopyTextOptions {
                delimiter: format.delimiter.to_string().as_str().into(),
                null_string: format.null.as_str().into(),
            },
        ),
        WireCopyKind::Csv => CopyEncoder::new_csv(
            fields.clone(),
            CopyCsvOptions {
                delimiter: format.delimiter.to_string().as_str().into(),
                quote: format.quote.to_string().as_str().into(),
                escape: format.escape.to_string().as_str().into(),
                null_string: format.null.as_str().into(),
                force_quote: Vec::new(),
            },
        ),
    };
    // The header line rides with the first row: pgwire counts CopyData messages as rows.
    let header = (format.header && format.kind != WireCopyKind::Binary).then(|| {
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        format!("{}\n", names.join(&format.delimiter.to_string())).into_bytes()
    });
    let state = Encoding {
        rows,
        encoder,
        format: format.clone(),
        fast: None,
        fields,
        pending: VecDeque::new(),
        header,
        binary,
        sent: false,
        done: false,
    };
    let stream = futures::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(data) = st.pending.pop_front() {
                st.sent = true;
                return Some((Ok(data), st));
            }
            if st.done {
                return None;
            }
            match st.rows.next().await {
                Some(Ok(batch)) => {
                    if let Err(e) = st.encode(&batch) {
                        st.done = true;
                        return Some((Err(e), st));
                    }
                }
                Some(Err(e)) => {
                    st.done = true;
                    return Some((Err(to_pg_error(&e.into())), st));
                }
                None => {
                    st.done = true;
                    if !st.sent {
                        let empty = st.empty_result();
                        st.pending.extend(empty);
                    }
                }
            }
        }
    });
    Ok(Response::CopyOut(CopyResponse::new(
        if binary { 1 } else { 0 },
        columns,
        stream,
    )))
}

struct Encoding {
    rows: SendableRecordBatchStream,
    encoder: CopyEncoder,
    format: WireCopyFormat,
    /// Whether [`crate::fast_rows`] writes the rows, decided on the first batch.
    fast: Option<bool>,
    fields: Arc<Vec<FieldInfo>>,
    pending: VecDeque<CopyData>,
    header: Option<Vec<u8>>,
    binary: bool,
    sent: bool,
    done: bool,
}

impl Encoding {
    fn encode(&mut self, batch: &RecordBatch) -> PgWireResult<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        if self.fast != Some(false) {
            if let Some(rows) = self.fast_rows(batch) {
                self.fast = Some(true);
                for (i, row) in rows.into_iter().enumerate() {
                    let row = match (i, self.header.take()) {
                        (0, Some(mut header)) => {
                            header.extend_from_slice(&row);
                            Bytes::from(header)
                        }
                        _ => row,
                    };
                    self.pending.push_back(CopyData::new(row));
                }
                return Ok(());
            }
            self.fast = Some(false);
        }
        let schema = batch.schema();
        for row in 0..batch.num_rows() {
            for (col, array) in batch.columns().iter().enumerate() {
                encode_value(
                    &mut self.encoder,
                    array,
                    row,
                    schema.field(col),
                    &self.fields[col],
                )?;
            }
            let data = self.encoder.take_copy();
            let data = match self.header.take() {
                Some(mut header) => {
                    header.extend_from_slice(&data.data);
                    CopyData::new(Bytes::from(header))
                }
                None => data,
            };
            self.pending.push_back(data);
        }
        Ok(())
    }

    /// The rows of `batch` written by [`crate::fast_rows`], when it can write them all.
    fn fast_rows(&self, batch: &RecordBatch) -> Option<Vec<Bytes>> {
        let columns = crate::fast_rows::plan(batch, &self.fields)?;
        match self.format.kind {
            WireCopyKind::Binary => Some(crate::fast_rows::copy_binary_rows(
                batch,
                &columns,
                self.fast.is_none(),
            )),
            WireCopyKind::Text => {
                let delimiter = self.format.delimiter;
                if !delimiter.is_ascii() {
                    return None;
                }
                let delimiter = delimiter as u8;
                crate::fast_rows::copy_text_rows(
                    batch,
                    &columns,
                    delimiter,
                    self.format.null.as_bytes(),
                )
            }
            WireCopyKind::Csv => None,
        }
    }

    /// No rows: still the CSV header line, or the binary file header.
    fn empty_result(&mut self) -> Option<CopyData> {
        if self.binary {
            let mut header = b"PGCOPY\n\xFF\r\n\x00".to_vec();
            header.extend_from_slice(&[0; 8]);
            return Some(CopyData::new(Bytes::from(header)));
        }
        self.header.take().map(|h| CopyData::new(Bytes::from(h)))
    }
}

#[async_trait]
impl CopyHandler for Connection {
    async fn on_copy_data<C>(&self, _client: &mut C, data: CopyData) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut spool = self.copy_in.lock().await;
        let Some(spool) = spool.as_mut() else {
            return Err(protocol("CopyData without COPY FROM STDIN"));
        };
        spool
            .file
            .write_all(&data.data)
            .map_err(PgWireError::IoError)
    }

    async fn on_copy_done<C>(&self, client: &mut C, _done: CopyDone) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let Some(mut spool) = self.copy_in.lock().await.take() else {
            return Err(protocol("CopyDone without COPY FROM STDIN"));
        };
        spool.file.flush().map_err(PgWireError::IoError)?;
        // The spool file is removed when `spool` drops, whatever the outcome.
        let output = self
            .session
            .finish_copy_in(&spool.copy, spool.file.path())
            .await
            .map_err(|e| to_pg_error(&e))?;
        let (text, rows) = match output {
            abacus_engine::Output::Command { tag, rows } => (tag, rows),
            abacus_engine::Output::Rows(_) => ("COPY 0".to_string(), Some(0)),
        };
        client
            .send(PgWireBackendMessage::CommandComplete(
                tag(&text, rows).into(),
            ))
            .await?;
        Ok(())
    }

    async fn on_copy_fail<C>(&self, _client: &mut C, fail: CopyFail) -> PgWireError
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        self.copy_in.lock().await.take();
        PgWireError::UserError(Box::new(ErrorInfo::new(
            "ERROR".into(),
            "57014".into(),
            format!("COPY from stdin failed: {}", fail.message),
        )))
    }
}

fn protocol(message: &str) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".into(),
        "08P01".into(),
        message.into(),
    )))
}
