//! `abacus serve`: the PostgreSQL wire protocol in front of engine sessions.

mod copy;
mod encode;
mod errors;
mod fast_rows;
mod handler;
mod pg_text;
mod scram;
mod startup;
mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use abacus_engine::Database;
use tokio::net::TcpListener;

pub use errors::to_pg_error;
pub use tls::tls_acceptor;

/// What the server tells clients about itself.
#[derive(Clone)]
pub struct ServerConfig {
    /// The one database name clients may connect to.
    pub database: String,
    /// Connections served at once; more get FATAL 53300, as from PostgreSQL.
    pub max_connections: usize,
    /// TLS for clients that ask for it (`sslmode=require`); `None` answers SSLRequest 'N'.
    pub tls: Option<pgwire::tokio::TlsAcceptor>,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("database", &self.database)
            .field("max_connections", &self.max_connections)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            database: "abacus".into(),
            max_connections: 100,
            tls: None,
        }
    }
}

/// FATAL 53300 for a client over `max_connections`, as PostgreSQL refuses it.
async fn refuse_too_many(mut socket: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // Answer SSL/GSS requests with 'N' and read the startup packet first, as PostgreSQL
    // does, so that clients show the message rather than a failed negotiation.
    let read_startup = async {
        loop {
            let len = socket.read_i32().await? as usize;
            let code = socket.read_i32().await?;
            if code == 80877103 || code == 80877104 {
                socket.write_all(b"N").await?;
                continue;
            }
            let mut rest = vec![0u8; len.saturating_sub(8).min(10_000)];
            socket.read_exact(&mut rest).await?;
            return Ok::<(), std::io::Error>(());
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), read_startup).await;
    let mut body = Vec::new();
    for (code, text) in [
        (b'S', "FATAL"),
        (b'V', "FATAL"),
        (b'C', "53300"),
        (b'M', "sorry, too many clients already"),
    ] {
        body.push(code);
        body.extend_from_slice(text.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut message = vec![b'E'];
    message.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
    message.extend_from_slice(&body);
    let _ = socket.write_all(&message).await;
    let _ = socket.shutdown().await;
}

/// The PostgreSQL version whose protocol and catalog Abacus speaks.
pub const PG_VERSION: &str = "16.6";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "refusing to listen on {0}: no users are configured, so only loopback addresses \
         (127.0.0.1, ::1) are allowed; create a user first or listen on 127.0.0.1"
    )]
    OpenToNetwork(SocketAddr),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("{0}")]
    Catalog(#[from] abacus_engine::Error),
}

/// Binds `addr`; without configured users (`has_users` false) only loopback addresses
/// are accepted, since then every client is let in without a password.
pub async fn bind(addr: &str, has_users: bool) -> Result<TcpListener, Error> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Bind {
            addr: addr.to_string(),
            source,
        })?;
    let local = listener.local_addr()?;
    if !has_users && !local.ip().is_loopback() {
        return Err(Error::OpenToNetwork(local));
    }
    Ok(listener)
}

/// Serves connections from `listener` until `shutdown` completes; then stops accepting and
/// lets open connections finish their current work.
pub async fn serve(
    listener: TcpListener,
    db: Database,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let config = Arc::new(config);
    let cancels = Arc::new(pgwire::api::ConnectionManager::new());
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let (socket, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        continue;
                    }
                };
                let _ = socket.set_nodelay(true);
                if connections.len() >= config.max_connections {
                    tracing::warn!("refusing {peer}: {} connections already", connections.len());
                    tokio::spawn(refuse_too_many(socket));
                    continue;
                }
                let handlers = Arc::new(handler::Connection::new(
                    db.session(),
                    config.clone(),
                    cancels.clone(),
                ));
                let tls = config.tls.clone();
                connections.spawn(async move {
                    if let Err(e) = pgwire::tokio::process_socket(socket, tls, handlers).await {
                        tracing::debug!("connection from {peer} ended: {e}");
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let grace = tokio::time::sleep(std::time::Duration::from_secs(10));
    tokio::pin!(grace);
    loop {
        tokio::select! {
            _ = &mut grace => {
                connections.abort_all();
                break;
            }
            next = connections.join_next() => if next.is_none() { break },
        }
    }
    Ok(())
}

/// Makes sure `name` exists as an ADMIN user with `password` (the first admin comes from
/// `--user`/`--password`); an existing user gets the password and ADMIN.
pub fn ensure_admin(db: &Database, name: &str, password: &str) -> Result<(), Error> {
    use abacus_catalog::{make_verifier, UserRecord};
    let users = db.catalog().views();
    abacus_catalog::validate_name(name).map_err(abacus_engine::Error::from)?;
    let verifier = make_verifier(password);
    if users
        .user(name)
        .map_err(abacus_engine::Error::from)?
        .is_some()
    {
        users.alter_user(name, |r| {
            r.verifier = verifier;
            r.admin = true;
            r.read_only = false;
        })
    } else {
        users.create_user(
            name,
            UserRecord {
                verifier,
                read_only: false,
                admin: true,
            },
        )
    }
    .map_err(abacus_engine::Error::from)?;
    Ok(())
}

/// Whether any user is configured (then every client authenticates with SCRAM).
pub fn has_users(db: &Database) -> Result<bool, Error> {
    Ok(!db
        .catalog()
        .views()
        .users()
        .map_err(abacus_engine::Error::from)?
        .is_empty())
}
