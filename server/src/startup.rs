//! Startup: protocol negotiation, the database name check and the ParameterStatus set
//! clients read (a PostgreSQL-16-shaped version; pgjdbc insists on UTF8, ISO dates and
//! on/off booleans).

use std::collections::HashMap;
use std::fmt::Debug;

use abacus_catalog::ScramVerifier;
use abacus_engine::SessionUser;
use async_trait::async_trait;
use futures::{Sink, SinkExt};
use pgwire::api::auth::{
    finish_authentication, protocol_negotiation, save_startup_parameters_to_metadata,
    ServerParameterProvider, StartupHandler,
};
use pgwire::api::{ClientInfo, PgWireConnectionState, METADATA_DATABASE, METADATA_USER};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::startup::Authentication;
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};

use crate::handler::Connection;
use crate::scram;
use crate::PG_VERSION;

struct Parameters {
    user: String,
    application_name: String,
}

impl ServerParameterProvider for Parameters {
    fn server_parameters<C>(&self, _client: &C) -> Option<HashMap<String, String>>
    where
        C: ClientInfo,
    {
        let pairs = [
            (
                "server_version",
                format!("{PG_VERSION} (Abacus {})", env!("CARGO_PKG_VERSION")),
            ),
            ("server_encoding", "UTF8".into()),
            ("client_encoding", "UTF8".into()),
            ("DateStyle", "ISO, MDY".into()),
            ("IntervalStyle", "postgres".into()),
            ("TimeZone", "Etc/UTC".into()),
            ("integer_datetimes", "on".into()),
            ("standard_conforming_strings", "on".into()),
            ("default_transaction_read_only", "off".into()),
            ("in_hot_standby", "off".into()),
            ("is_superuser", "on".into()),
            ("session_authorization", self.user.clone()),
            ("application_name", self.application_name.clone()),
        ];
        Some(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }
}

#[async_trait]
impl StartupHandler for Connection {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match message {
            PgWireFrontendMessage::Startup(ref startup) => {
                protocol_negotiation(client, startup).await?;
                save_startup_parameters_to_metadata(client, startup);
                let database = client
                    .metadata()
                    .get(METADATA_DATABASE)
                    .or_else(|| client.metadata().get(METADATA_USER))
                    .cloned()
                    .unwrap_or_default();
                if database != self.config.database {
                    let message = format!(
                        "database \"{database}\" does not exist (this server has \"{}\")",
                        self.config.database
                    );
                    return fatal(client, "3D000", message).await;
                }
                let users = self
                    .session
                    .catalog()
                    .views()
                    .users()
                    .map_err(|e| PgWireError::ApiError(Box::new(e)))?;
                if users.is_empty() {
                    // No users: loopback only (checked at bind), everyone is the owner.
                    return self.accept(client, None).await;
                }
                client.set_state(PgWireConnectionState::AuthenticationInProgress);
                client
                    .send(PgWireBackendMessage::Authentication(Authentication::SASL(
                        vec![scram::MECHANISM.to_string()],
                    )))
                    .await?;
            }
            PgWireFrontendMessage::PasswordMessageFamily(message) => {
                let user = self.user_name(client);
                let mut pending = self.auth.lock().await;
                let step = match pending.take() {
                    None => {
                        let initial = message.into_sasl_initial_response()?;
                        if initial.auth_method != scram::MECHANISM {
                            let text = format!(
                                "unsupported SASL mechanism \"{}\"; this server offers {}",
                                initial.auth_method,
                                scram::MECHANISM
                            );
                            return fatal(client, "28000", text).await;
                        }
                        let record = self.stored_user(&user)?;
                        let verifier = record.and_then(|r| ScramVerifier::parse(&r.verifier));
                        let data = initial.data.unwrap_or_default();
                        scram::server_first(&data, verifier).map(|(first, next)| {
                            *pending = Some(next);
                            Authentication::SASLContinue(first.into_bytes().into())
                        })
                    }
                    Some(waiting) => {
                        let response = message.into_sasl_response()?;
                        match waiting.server_final(&response.data) {
                            Ok(last) => {
                                client
                                    .send(PgWireBackendMessage::Authentication(
                                        Authentication::SASLFinal(last.into_bytes().into()),
                                    ))
                                    .await?;
                                let Some(record) = self.stored_user(&user)? else {
                                    return fatal(client, "28P01", failed(&user)).await;
                                };
                                drop(pending);
                                return self
                                    .accept(
                                        client,
                                        Some(SessionUser {
                                            name: user,
                                            read_only: record.read_only,
                                            admin: record.admin,
                                        }),
                                    )
                                    .await;
                            }
                            Err(e) => Err(e),
                        }
                    }
                };
                match step {
                    Ok(reply) => {
                        client
                            .send(PgWireBackendMessage::Authentication(reply))
                            .await?
                    }
                    Err(scram::Failure::Rejected) => {
                        tracing::info!("password authentication failed for user {user:?}");
                        return fatal(client, "28P01", failed(&user)).await;
                    }
                    Err(scram::Failure::Protocol(text)) => {
                        return fatal(client, "08P01", text).await
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// PostgreSQL's wording, which Metabase and others match on.
fn failed(user: &str) -> String {
    format!("password authentication failed for user \"{user}\"")
}

/// Sends a FATAL error and closes the connection.
async fn fatal<C>(client: &mut C, code: &str, message: String) -> PgWireResult<()>
where
    C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let error = ErrorInfo::new("FATAL".into(), code.into(), message);
    client
        .send(PgWireBackendMessage::ErrorResponse(error.into()))
        .await?;
    client.close().await?;
    Ok(())
}

impl Connection {
    /// The user's stored record (its SCRAM verifier and rights), if the user exists.
    fn stored_user(&self, name: &str) -> PgWireResult<Option<abacus_catalog::UserRecord>> {
        self.session
            .catalog()
            .views()
            .user(name)
            .map_err(|e| PgWireError::ApiError(Box::new(e)))
    }

    fn user_name<C: ClientInfo>(&self, client: &C) -> String {
        client
            .metadata()
            .get(METADATA_USER)
            .cloned()
            .unwrap_or_else(|| "abacus".into())
    }

    /// Authentication done: the session acts as `user`, cancel requests can find it, and
    /// the client gets its ParameterStatus set and ReadyForQuery.
    async fn accept<C>(&self, client: &mut C, user: Option<SessionUser>) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = self.user_name(client);
        match user {
            Some(user) => self.session.set_user(user),
            None => self.session.set_connected_name(&name),
        }
        let pid = next_pid();
        let secret = rand_key();
        client.set_pid_and_secret_key(pid, pgwire::messages::startup::SecretKey::I32(secret));
        // Cancel requests name (pid, secret); the guard unregisters when the connection ends.
        let (handle, guard) = self
            .cancels
            .register(pid, pgwire::messages::startup::SecretKey::I32(secret));
        // Under our own type: pgwire's query loop looks for a bare `Arc<ConnectionHandle>`
        // and would cover only planning, not the streaming rows that `cancellable` covers.
        client
            .session_extensions()
            .insert(crate::handler::CancelHandle(handle));
        client.session_extensions().insert(guard);
        let application_name = client
            .metadata()
            .get("application_name")
            .cloned()
            .unwrap_or_default();
        finish_authentication(
            client,
            &Parameters {
                user: name,
                application_name,
            },
        )
        .await?;
        client.set_state(PgWireConnectionState::ReadyForQuery);
        Ok(())
    }
}

/// The cancel key: whoever knows it can cancel this connection's queries.
fn rand_key() -> i32 {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 4];
    let _ = ring::rand::SystemRandom::new().fill(&mut bytes);
    i32::from_be_bytes(bytes)
}

/// A distinct backend "pid" per connection, as clients show and cancel by it.
fn next_pid() -> i32 {
    static NEXT: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(1000);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}
