//! Startup: protocol negotiation, the database name check and the ParameterStatus set
//! clients read (a PostgreSQL-16-shaped version; pgjdbc insists on UTF8, ISO dates and
//! on/off booleans).

use std::collections::HashMap;
use std::fmt::Debug;

use async_trait::async_trait;
use futures::{Sink, SinkExt};
use pgwire::api::auth::{
    finish_authentication, protocol_negotiation, save_startup_parameters_to_metadata,
    ServerParameterProvider, StartupHandler,
};
use pgwire::api::{ClientInfo, PgWireConnectionState, METADATA_DATABASE, METADATA_USER};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};

use crate::handler::Connection;
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
        let PgWireFrontendMessage::Startup(ref startup) = message else {
            return Ok(());
        };
        protocol_negotiation(client, startup).await?;
        save_startup_parameters_to_metadata(client, startup);
        let user = client
            .metadata()
            .get(METADATA_USER)
            .cloned()
            .unwrap_or_else(|| "abacus".into());
        let database = client
            .metadata()
            .get(METADATA_DATABASE)
            .cloned()
            .unwrap_or_else(|| user.clone());
        if database != self.config.database {
            let error = ErrorInfo::new(
                "FATAL".into(),
                "3D000".into(),
                format!(
                    "database \"{database}\" does not exist (this server has \"{}\")",
                    self.config.database
                ),
            );
            client
                .send(PgWireBackendMessage::ErrorResponse(error.into()))
                .await?;
            client.close().await?;
            return Ok(());
        }
        client.set_pid_and_secret_key(
            std::process::id() as i32,
            pgwire::messages::startup::SecretKey::I32(rand_key()),
        );
        let application_name = client
            .metadata()
            .get("application_name")
            .cloned()
            .unwrap_or_default();
        finish_authentication(
            client,
            &Parameters {
                user,
                application_name,
            },
        )
        .await?;
        client.set_state(PgWireConnectionState::ReadyForQuery);
        Ok(())
    }
}

/// Not a secret worth a CSPRNG until cancel requests are served; unique enough per connection.
fn rand_key() -> i32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    );
    h.finish() as i32
}
