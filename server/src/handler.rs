//! One client connection: its engine session, the simple and the extended query protocol.

use std::fmt::Debug;
use std::sync::Arc;

use abacus_engine::datafusion;
use abacus_engine::datafusion::arrow::datatypes::DataType;
use abacus_engine::datafusion::error::DataFusionError;
use abacus_engine::datafusion::execution::SendableRecordBatchStream;
use abacus_engine::{Output, Prepared, Session};
use arrow_pg::datatypes::df::deserialize_parameters;
use async_trait::async_trait;
use futures::Sink;
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{
    DescribePortalResponse, DescribeResponse, DescribeStatementResponse, QueryResponse, Response,
    Tag,
};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, PgWireServerHandlers, Type};
use pgwire::api::{ConnectionHandle, ConnectionManager};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;

use crate::encode::{fields, materialize, response};
use crate::{to_pg_error, ServerConfig};

pub struct Connection {
    pub(crate) session: Arc<Session>,
    parser: Arc<Parser>,
    pub(crate) config: Arc<ServerConfig>,
    /// Every connection's cancel handle, shared by the server (cancel requests arrive on
    /// a connection of their own).
    pub(crate) cancels: Arc<ConnectionManager>,
    /// The SCRAM exchange in progress, between the client's first and final messages.
    pub(crate) auth: Arc<tokio::sync::Mutex<Option<crate::scram::Pending>>>,
    /// The COPY FROM STDIN receiving data, between CopyInResponse and CopyDone.
    pub(crate) copy_in: Arc<tokio::sync::Mutex<Option<crate::copy::Spool>>>,
}

impl Connection {
    pub fn new(
        session: Session,
        config: Arc<ServerConfig>,
        cancels: Arc<ConnectionManager>,
    ) -> Self {
        session.use_postgres_column_names();
        let session = Arc::new(session);
        Self {
            parser: Arc::new(Parser {
                session: session.clone(),
            }),
            session,
            config,
            cancels,
            auth: Default::default(),
            copy_in: Default::default(),
        }
    }
}

/// This connection's cancel handle, found by cancel requests through the shared
/// `ConnectionManager`.
#[derive(Clone)]
pub(crate) struct CancelHandle(pub(crate) Arc<ConnectionHandle>);

/// The message PostgreSQL sends for a canceled query (SQLSTATE 57014).
const CANCELED: &str = "canceling statement due to user request";

/// Runs `work` unless a cancel request for this connection arrives first; rows that are
/// still streaming stop at the next batch after a cancel.
async fn cancellable<C, F>(client: &C, work: F) -> abacus_engine::Result<Output>
where
    C: ClientInfo,
    F: std::future::Future<Output = abacus_engine::Result<Output>>,
{
    let Some(handle) = client.session_extensions().get::<CancelHandle>() else {
        return work.await;
    };
    let mut canceled = handle.0.start_query().await;
    tokio::pin!(work);
    let output = tokio::select! {
        r = &mut work => r?,
        r = &mut canceled => match r {
            Ok(()) => return Err(DataFusionError::Execution(CANCELED.into()).into()),
            // The sender went away without a cancel: just finish the work.
            Err(_) => work.await?,
        },
    };
    Ok(match output {
        Output::Rows(stream) => Output::Rows(Box::pin(Cancelable {
            inner: stream,
            canceled: Some(canceled),
        })),
        other => other,
    })
}

struct Cancelable {
    inner: SendableRecordBatchStream,
    canceled: Option<futures::channel::oneshot::Receiver<()>>,
}

impl futures::Stream for Cancelable {
    type Item = datafusion::error::Result<datafusion::arrow::record_batch::RecordBatch>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::future::Future;
        if let Some(rx) = self.canceled.as_mut() {
            match std::pin::Pin::new(rx).poll(cx) {
                std::task::Poll::Ready(Ok(())) => {
                    self.canceled = None;
                    return std::task::Poll::Ready(Some(Err(DataFusionError::Execution(
                        CANCELED.into(),
                    ))));
                }
                std::task::Poll::Ready(Err(_)) => self.canceled = None,
                std::task::Poll::Pending => {}
            }
        }
        self.inner.as_mut().poll_next(cx)
    }
}

impl datafusion::execution::RecordBatchStream for Cancelable {
    fn schema(&self) -> datafusion::arrow::datatypes::SchemaRef {
        self.inner.schema()
    }
}

impl PgWireServerHandlers for Connection {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        Arc::new(self.clone_handle())
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        Arc::new(self.clone_handle())
    }

    fn startup_handler(&self) -> Arc<impl pgwire::api::auth::StartupHandler> {
        Arc::new(self.clone_handle())
    }

    fn copy_handler(&self) -> Arc<impl pgwire::api::copy::CopyHandler> {
        Arc::new(self.clone_handle())
    }

    fn cancel_handler(&self) -> Arc<impl pgwire::api::cancel::CancelHandler> {
        Arc::new(pgwire::api::cancel::DefaultCancelHandler::new(
            self.cancels.clone(),
        ))
    }
}

impl Connection {
    fn clone_handle(&self) -> Connection {
        Connection {
            session: self.session.clone(),
            parser: self.parser.clone(),
            config: self.config.clone(),
            cancels: self.cancels.clone(),
            auth: self.auth.clone(),
            copy_in: self.copy_in.clone(),
        }
    }
}

#[async_trait]
impl SimpleQueryHandler for Connection {
    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let statements = abacus_engine::split_statements(query);
        if statements.is_empty() {
            return Ok(vec![Response::EmptyQuery]);
        }
        let last = statements.len() - 1;
        let mut responses = Vec::with_capacity(statements.len());
        for (i, statement) in statements.iter().enumerate() {
            if let Some(copy) = self.stdio_copy(statement).await {
                send_notices(client, &self.session).await?;
                match copy {
                    Ok(response) => responses.push(response),
                    Err(PgWireError::UserError(info)) => {
                        responses.push(Response::Error(info));
                        break;
                    }
                    Err(e) => return Err(e),
                }
                continue;
            }
            let result = cancellable(client, self.session.execute_one(statement)).await;
            send_notices(client, &self.session).await?;
            match result {
                Ok(output) => {
                    let output = if i < last {
                        materialize(output).await?
                    } else {
                        output
                    };
                    responses.push(response(output, &Format::UnifiedText).await?);
                }
                Err(e) => {
                    let PgWireError::UserError(info) = to_pg_error(&e) else {
                        unreachable!()
                    };
                    responses.push(Response::Error(info));
                    break;
                }
            }
        }
        Ok(responses)
    }
}

pub struct Parser {
    session: Arc<Session>,
}

#[async_trait]
impl QueryParser for Parser {
    type Statement = Prepared;

    async fn parse_sql<C>(
        &self,
        _client: &C,
        sql: &str,
        _types: &[Option<Type>],
    ) -> PgWireResult<Option<Prepared>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let prepared = self
            .session
            .prepare(sql)
            .await
            .map_err(|e| to_pg_error(&e))?;
        Ok((!prepared.sql().is_empty()).then_some(prepared))
    }

    fn get_parameter_types(&self, stmt: &Prepared) -> PgWireResult<Vec<Type>> {
        parameter_types(stmt, &[])
    }

    fn get_result_schema(
        &self,
        stmt: &Prepared,
        column_format: Option<&Format>,
    ) -> PgWireResult<Vec<pgwire::api::results::FieldInfo>> {
        match stmt.result_schema() {
            Some(schema) => fields(&schema, column_format.unwrap_or(&Format::UnifiedText)),
            None => Ok(Vec::new()),
        }
    }
}

/// The inferred parameter types, falling back to what the client declared, then text.
fn parameter_types(stmt: &Prepared, declared: &[Option<Type>]) -> PgWireResult<Vec<Type>> {
    let inferred = stmt.parameter_fields().map_err(|e| to_pg_error(&e))?;
    let count = inferred.len().max(declared.len());
    (0..count)
        .map(|i| {
            match (
                inferred.get(i).cloned().flatten(),
                declared.get(i).cloned().flatten(),
            ) {
                (_, Some(t)) => Ok(t),
                // Field metadata marks catalog oids (`WHERE t.oid = $1` is an oid parameter).
                (Some(f), None) => arrow_pg::datatypes::field_into_pg_type(&f),
                (None, None) => Ok(Type::TEXT),
            }
        })
        .collect()
}

#[async_trait]
impl ExtendedQueryHandler for Connection {
    type Statement = Prepared;
    type QueryParser = Parser;

    fn query_parser(&self) -> Arc<Parser> {
        self.parser.clone()
    }

    /// As pgwire's, but a parameter type OID that names no type is PostgreSQL's 42704
    /// instead of a parameter silently read as text.
    async fn on_parse<C>(
        &self,
        client: &mut C,
        message: pgwire::messages::extendedquery::Parse,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        use futures::SinkExt;
        if let Some(oid) = message
            .type_oids
            .iter()
            .find(|&&oid| oid != 0 && Type::from_oid(oid).is_none())
        {
            return Err(PgWireError::UserError(Box::new(
                pgwire::error::ErrorInfo::new(
                    "ERROR".into(),
                    "42704".into(),
                    format!("type with OID {oid} does not exist"),
                ),
            )));
        }
        let name = message
            .name
            .clone()
            .unwrap_or_else(|| pgwire::api::DEFAULT_NAME.to_owned());
        match StoredStatement::parse(client, &message, self.query_parser()).await? {
            Some(stmt) => client.portal_store().put_statement(Arc::new(stmt)),
            None => client.portal_store().put_empty_statement(&name),
        }
        // Buffered, not flushed: Sync (or Flush) sends the pipeline's answers together.
        client
            .feed(PgWireBackendMessage::ParseComplete(
                pgwire::messages::extendedquery::ParseComplete::new(),
            ))
            .await?;
        Ok(())
    }

    /// As pgwire's, but BindComplete waits in the buffer for Sync (pgwire flushes every
    /// reply, a send system call and a client wake-up each: most of a short statement's
    /// cost in the extended protocol).
    async fn on_bind<C>(
        &self,
        client: &mut C,
        message: pgwire::messages::extendedquery::Bind,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        use futures::SinkExt;
        use pgwire::api::store::Entry;
        let statement_name = message
            .statement_name
            .as_deref()
            .unwrap_or(pgwire::api::DEFAULT_NAME);
        let portal_name = message
            .portal_name
            .as_deref()
            .unwrap_or(pgwire::api::DEFAULT_NAME);
        match client.portal_store().get_statement(statement_name) {
            Some(Entry::Value(statement)) => {
                let portal = Portal::try_new(&message, statement)?;
                client.portal_store().put_portal(Arc::new(portal));
            }
            Some(Entry::Empty) if !message.parameters.is_empty() => {
                return Err(PgWireError::UserError(Box::new(
                    pgwire::error::ErrorInfo::new(
                        "ERROR".into(),
                        "08P01".into(),
                        format!(
                            "bind message supplies {} parameters, but prepared statement \
                             {statement_name:?} requires 0",
                            message.parameters.len()
                        ),
                    ),
                )));
            }
            Some(Entry::Empty) => client.portal_store().put_empty_portal(portal_name),
            None => return Err(PgWireError::StatementNotFound(statement_name.to_owned())),
        }
        client
            .feed(PgWireBackendMessage::BindComplete(
                pgwire::messages::extendedquery::BindComplete::new(),
            ))
            .await?;
        Ok(())
    }

    /// As pgwire's, with the descriptions buffered until Sync (see `on_bind`).
    async fn on_describe<C>(
        &self,
        client: &mut C,
        message: pgwire::messages::extendedquery::Describe,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        use futures::SinkExt;
        use pgwire::api::results::DescribeResponse;
        use pgwire::api::store::Entry;
        use pgwire::messages::data::{NoData, ParameterDescription, RowDescription};
        use pgwire::messages::extendedquery::{
            TARGET_TYPE_BYTE_PORTAL, TARGET_TYPE_BYTE_STATEMENT,
        };
        let name = message.name.as_deref().unwrap_or(pgwire::api::DEFAULT_NAME);
        let (parameters, fields) = match message.target_type {
            TARGET_TYPE_BYTE_STATEMENT => match client.portal_store().get_statement(name) {
                Some(Entry::Value(statement)) => {
                    let described = self.do_describe_statement(client, &statement).await?;
                    (
                        described.parameters().map(<[Type]>::to_vec),
                        (!described.is_no_data()).then(|| described.fields().to_vec()),
                    )
                }
                Some(Entry::Empty) => (Some(Vec::new()), None),
                None => return Err(PgWireError::StatementNotFound(name.to_owned())),
            },
            TARGET_TYPE_BYTE_PORTAL => match client.portal_store().get_portal(name) {
                Some(Entry::Value(portal)) => {
                    let described = self.do_describe_portal(client, &portal).await?;
                    (
                        None,
                        (!described.is_no_data()).then(|| described.fields().to_vec()),
                    )
                }
                Some(Entry::Empty) => (None, None),
                None => return Err(PgWireError::PortalNotFound(name.to_owned())),
            },
            other => return Err(PgWireError::InvalidTargetType(other)),
        };
        if let Some(types) = parameters {
            let oids = types.iter().map(|t| t.oid()).collect();
            client
                .feed(PgWireBackendMessage::ParameterDescription(
                    ParameterDescription::new(oids),
                ))
                .await?;
        }
        match fields {
            Some(fields) => {
                let description = RowDescription::new(fields.iter().map(Into::into).collect());
                client
                    .feed(PgWireBackendMessage::RowDescription(description))
                    .await?;
            }
            None => {
                client
                    .feed(PgWireBackendMessage::NoData(NoData::new()))
                    .await?
            }
        }
        Ok(())
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Prepared>,
        max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let prepared = &portal.statement.statement;
        if let Some(copy) = self.stdio_copy(prepared.sql()).await {
            return copy;
        }
        let inferred = prepared.parameter_types().map_err(|e| to_pg_error(&e))?;
        let params = if portal.parameter_len() == 0 {
            None
        } else {
            let types: Vec<Option<&DataType>> = (0..portal.parameter_len())
                .map(|i| inferred.get(i).and_then(|t| t.as_ref()))
                .collect();
            Some(deserialize_parameters(portal, &types)?)
        };
        let result = cancellable(client, self.session.execute_prepared(prepared, params)).await;
        send_notices(client, &self.session).await?;
        if result.is_ok() {
            register_cursor(client, &self.session, prepared.sql()).await;
        }
        let output = result.map_err(|e| to_pg_error(&e))?;
        match response(output, &portal.result_column_format).await? {
            Response::Query(rows) if max_rows == 0 => stream_rows(client, rows).await,
            other => Ok(other),
        }
    }

    async fn do_describe_statement<C>(
        &self,
        _client: &mut C,
        target: &StoredStatement<Prepared>,
    ) -> PgWireResult<DescribeStatementResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let stmt = &target.statement;
        let params = parameter_types(stmt, &target.parameter_types)?;
        let result = match stmt.result_schema() {
            Some(schema) => fields(&schema, &Format::UnifiedText)?,
            None => Vec::new(),
        };
        Ok(DescribeStatementResponse::new(params, result))
    }

    async fn do_describe_portal<C>(
        &self,
        _client: &mut C,
        target: &Portal<Prepared>,
    ) -> PgWireResult<DescribePortalResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match target.statement.statement.result_schema() {
            Some(schema) => Ok(DescribePortalResponse::new(fields(
                &schema,
                &target.result_column_format,
            )?)),
            None => Ok(DescribePortalResponse::no_data()),
        }
    }
}

/// Sends every row of an Execute without a row limit as it is encoded. pgwire's portal
/// collects all remaining rows into one Vec before sending any (a 10M-row psycopg fetch
/// peaked at 2 GiB), so unlimited Executes never become a portal; the tag it returns is the
/// CommandComplete pgwire sends after them. Executes with a row limit (JDBC fetch size)
/// still suspend through pgwire's portal.
async fn stream_rows<C>(client: &mut C, mut rows: QueryResponse) -> PgWireResult<Response>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    use futures::{SinkExt, StreamExt};
    let verb = rows.command_tag().to_string();
    let mut sent = 0;
    let data = rows.data_rows();
    while let Some(row) = data.next().await {
        client.feed(PgWireBackendMessage::DataRow(row?)).await?;
        sent += 1;
    }
    Ok(Response::Execution(Tag::new(&verb).with_rows(sent)))
}

/// Settings the statement changed that PostgreSQL reports (ParameterStatus), and messages
/// it left (the SQL an ASK ran) as NoticeResponse, before its rows.
async fn send_notices<C>(client: &mut C, session: &Session) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    use futures::SinkExt;
    for (name, value) in session.settings().take_reported() {
        let status = pgwire::messages::startup::ParameterStatus::new(name, value);
        client
            .send(PgWireBackendMessage::ParameterStatus(status))
            .await?;
    }
    for message in session.take_notices() {
        let notice = pgwire::messages::response::NoticeResponse::new(vec![
            (b'S', "NOTICE".to_string()),
            (b'V', "NOTICE".to_string()),
            (b'C', "00000".to_string()),
            (b'M', message),
        ]);
        client
            .send(PgWireBackendMessage::NoticeResponse(notice))
            .await?;
    }
    Ok(())
}

/// PostgreSQL exposes a declared cursor as a portal of the same name; psycopg's named
/// cursors describe it that way, so it goes into the connection's portal store.
async fn register_cursor<C>(client: &mut C, session: &Session, sql: &str)
where
    C: ClientPortalStore,
    C::PortalStore: PortalStore<Statement = Prepared>,
{
    let Some(name) = abacus_engine::declared_cursor(sql) else {
        return;
    };
    let Some(columns) = session.cursor_schema(&name).await else {
        return;
    };
    let statement = Arc::new(StoredStatement::new(
        name.clone(),
        Prepared::for_cursor(&name, columns),
        Vec::new(),
    ));
    client
        .portal_store()
        .put_portal(Arc::new(Portal::new_cursor(name, statement)));
}
