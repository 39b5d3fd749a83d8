//! The `abacus` command: REPL, one-shot SQL (`-c`, `-f`, stdin) and `demo`.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::sync::Arc;

use abacus_engine::{demo, Config, Database};
use abacus_repl::{run_script, Format, Repl};
use anyhow::Context;
use clap::{Parser, Subcommand};

mod ask_cmd;
mod eval_nl;
mod malloc;

const EXAMPLES: &str = "\
Examples:
  abacus --demo                                   REPL on ./abacus-data with the demo datasets
  abacus -c \"SELECT count(*) FROM payments.transactions\" --format json
  abacus --data /srv/abacus -f load.sql           run a script
  echo \"SELECT 1\" | abacus                        SQL on stdin
  abacus demo --scale 0.1                         (re)write the demo datasets, 10 % size
  abacus serve --listen 127.0.0.1:5432            then: psql -h 127.0.0.1 -p 5432 abacus
  abacus --demo ask \"Топ 10 мерчантов по объему транзакций\" --format json";

#[derive(Parser)]
#[command(name = "abacus", version, about = "Abacus: an embedded analytics database on Delta Lake", after_help = EXAMPLES)]
struct Cli {
    /// Data directory holding the schemas and Delta tables.
    #[arg(
        long,
        env = "ABACUS_DATA",
        default_value = "./abacus-data",
        global = true
    )]
    data: PathBuf,
    /// Run these SQL statements (separated by ';') and exit.
    #[arg(short = 'c', long = "command", conflicts_with = "file")]
    command: Option<String>,
    /// Run the statements in this file and exit.
    #[arg(short = 'f', long = "file")]
    file: Option<PathBuf>,
    /// Output format.
    #[arg(long, default_value = "table", value_parser = ["table", "csv", "json", "ndjson"])]
    format: String,
    /// Create the demo datasets first when they are missing.
    #[arg(long)]
    demo: bool,
    /// Threads queries run on (default: all cores).
    #[arg(long, env = "ABACUS_THREADS")]
    threads: Option<usize>,
    #[command(subcommand)]
    sub: Option<Sub>,
}

#[derive(Subcommand)]
enum Sub {
    /// Write the demo datasets (payments, marketplace, learning), replacing earlier copies.
    Demo {
        /// Size factor: 1 writes about a million rows in all.
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
    },
    /// Answer a question in Russian or English: translate to SQL, run it, print the rows.
    Ask {
        /// The question, e.g. "Топ 10 мерчантов по объему транзакций".
        question: String,
        /// Output format.
        #[arg(long, default_value = "table", value_parser = ["table", "json"])]
        format: String,
        /// Print the SQL without running it.
        #[arg(long)]
        sql_only: bool,
    },
    /// Score ASK on an evaluation file (shared/nl/eval.jsonl format) over the demo data.
    EvalNl {
        /// JSON-lines file of questions with gold SQL.
        file: PathBuf,
        /// Demo data size factor.
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Use this data directory (demo tables added when missing) instead of a temporary one.
        #[arg(long)]
        eval_data: Option<PathBuf>,
        /// Print every item, not only failures.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Serve the data directory over the PostgreSQL wire protocol (psql, JDBC, psycopg …).
    Serve {
        /// Address to listen on; port 0 picks a free port (printed on start).
        #[arg(long, default_value = "127.0.0.1:5432")]
        listen: String,
        /// The database name clients connect to.
        #[arg(long, default_value = "abacus")]
        database: String,
        /// Connections served at once; more are refused with SQLSTATE 53300.
        #[arg(long, default_value_t = 100)]
        max_connections: usize,
        /// Default statement_timeout (e.g. 30s, 5min; 0 = none); queries past it get 57014.
        #[arg(long, value_parser = parse_timeout)]
        statement_timeout: Option<std::time::Duration>,
        /// Memory one query may use (e.g. 512MB, 2GB); past it the query fails with 53200.
        #[arg(long, value_parser = abacus_engine::parse_bytes)]
        memory_limit: Option<usize>,
        /// PEM certificate chain for TLS (with --tls-key); clients may then use sslmode=require.
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// PEM private key for TLS (with --tls-cert).
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Create (or reset) this ADMIN user before serving; with users, clients log in with SCRAM.
        #[arg(long, env = "ABACUS_USER", requires = "password")]
        user: Option<String>,
        /// The password of --user.
        #[arg(
            long,
            env = "ABACUS_PASSWORD",
            hide_env_values = true,
            requires = "user"
        )]
        password: Option<String>,
    },
}

fn parse_timeout(text: &str) -> Result<std::time::Duration, String> {
    Ok(abacus_engine::parse_duration(text)?.unwrap_or_default())
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("ERROR: {e:#}");
        std::process::exit(1);
    }
}

async fn serve(
    db: Database,
    listen: &str,
    config: abacus_server::ServerConfig,
) -> anyhow::Result<()> {
    let listener = abacus_server::bind(listen, abacus_server::has_users(&db)?).await?;
    let addr = listener.local_addr()?;
    println!("listening on {addr}");
    use std::io::Write;
    std::io::stdout().flush()?;
    let shutdown = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler installs");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        eprintln!("shutting down: no new connections; open ones get 10 s to finish");
    };
    abacus_server::serve(listener, db, config, shutdown).await?;
    Ok(())
}

fn real_main() -> anyhow::Result<()> {
    malloc::keep_freed_memory();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ABACUS_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("error,buoyant_kernel=off,deltalake_core=off")
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let format: Format = cli.format.parse().map_err(anyhow::Error::msg)?;
    let config = Config {
        threads: cli.threads,
        ..Config::default()
    };
    malloc::heaps_per_worker(config.threads());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.threads())
        .enable_all()
        .build()?;
    let db = Database::open(&cli.data, config.clone())
        .with_context(|| format!("cannot open data directory {}", cli.data.display()))?;

    match cli.sub {
        Some(Sub::Demo { scale }) => {
            let report = rt.block_on(demo::generate(&db, scale, demo::Mode::Replace))?;
            eprintln!("{report}");
            return Ok(());
        }
        Some(Sub::Ask {
            question,
            format,
            sql_only,
        }) => {
            if cli.demo {
                rt.block_on(demo::generate(&db, 1.0, demo::Mode::IfMissing))?;
            }
            let code = rt.block_on(ask_cmd::run(&db, &question, format == "json", sql_only))?;
            std::process::exit(code);
        }
        Some(Sub::EvalNl {
            file,
            scale,
            eval_data,
            verbose,
        }) => {
            let code = rt.block_on(eval_nl::run(&file, eval_data.as_deref(), scale, verbose))?;
            std::process::exit(code);
        }
        Some(Sub::Serve {
            listen,
            database,
            max_connections,
            statement_timeout,
            memory_limit,
            tls_cert,
            tls_key,
            user,
            password,
        }) => {
            let db = Database::open(
                &cli.data,
                Config {
                    statement_timeout: statement_timeout.filter(|t| !t.is_zero()),
                    memory_limit,
                    ..config
                },
            )
            .with_context(|| format!("cannot open data directory {}", cli.data.display()))?;
            if cli.demo {
                rt.block_on(demo::generate(&db, 1.0, demo::Mode::IfMissing))?;
            }
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => Some(abacus_server::tls_acceptor(&cert, &key)?),
                _ => None,
            };
            if let (Some(user), Some(password)) = (user, password) {
                abacus_server::ensure_admin(&db, &user, &password)?;
            }
            let server = abacus_server::ServerConfig {
                database,
                max_connections: max_connections.max(1),
                tls,
            };
            return rt.block_on(serve(db, &listen, server));
        }
        None => {}
    }
    if cli.demo {
        let report = rt.block_on(demo::generate(&db, 1.0, demo::Mode::IfMissing))?;
        if !report.tables.is_empty() {
            eprintln!("{report}");
        }
    }

    let script = if let Some(sql) = cli.command {
        Some(sql)
    } else if let Some(path) = &cli.file {
        Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?,
        )
    } else if !std::io::stdin().is_terminal() {
        let mut sql = String::new();
        std::io::stdin()
            .read_to_string(&mut sql)
            .context("cannot read stdin")?;
        Some(sql)
    } else {
        None
    };

    let session = Arc::new(db.session());
    let result = match script {
        Some(sql) => {
            let mut out = std::io::stdout();
            rt.block_on(run_script(&*session, &sql, format, &mut out, false))
                .map_err(anyhow::Error::from)
        }
        None => Repl::new(session, format)
            .run(rt.handle())
            .map_err(anyhow::Error::from),
    };
    // Dropping a runtime waits for every task to reach its next yield. A query cancelled with
    // Ctrl-C leaves its tasks to stop on their own, and quitting must not wait for them.
    rt.shutdown_timeout(std::time::Duration::from_millis(500));
    result
}
