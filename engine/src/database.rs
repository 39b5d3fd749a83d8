//! `Database`: the catalog plus the runtime every session of this process shares.

use std::path::PathBuf;
use std::sync::Arc;

use abacus_catalog::Catalog;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};

use crate::ask::NlCache;
use crate::{Result, Session};

/// Engine settings. Front ends fill it from flags, then `ABACUS_*` variables, then defaults.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Threads a query runs on; `None` uses every core. Plans get one partition more than
    /// threads (session.rs, `partitions_for`).
    pub threads: Option<usize>,
    /// Rows per Arrow batch; `None` keeps DataFusion's default (8192).
    pub batch_size: Option<usize>,
    /// Default `statement_timeout` of new sessions (`SET statement_timeout` overrides it).
    pub statement_timeout: Option<std::time::Duration>,
    /// Memory one session's query may use; `None` is unlimited.
    pub memory_limit: Option<usize>,
}

/// An open data directory. Create sessions from it; clone it freely.
#[derive(Clone)]
pub struct Database {
    catalog: Arc<Catalog>,
    runtime: Arc<RuntimeEnv>,
    config: Config,
    nl: Arc<NlCache>,
}

impl Config {
    /// `threads`, or every core.
    pub fn threads(&self) -> usize {
        self.threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1)
    }
}

impl Database {
    /// Opens the data directory at `path`, creating it (with schema `public`) when missing.
    pub fn open(path: impl Into<PathBuf>, config: Config) -> Result<Self> {
        let catalog = Arc::new(Catalog::open(path)?);
        let runtime = RuntimeEnvBuilder::new().build_arc()?;
        Ok(Self {
            catalog,
            runtime,
            config,
            nl: Arc::default(),
        })
    }

    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A new session: its own settings and DataFusion context, the shared runtime and catalog.
    pub fn session(&self) -> Session {
        // A pool per session: one query over the limit fails alone (53200), and spills first.
        let runtime = match self.config.memory_limit {
            Some(limit) => RuntimeEnvBuilder::new()
                .with_memory_pool(Arc::new(
                    datafusion::execution::memory_pool::FairSpillPool::new(limit),
                ))
                .build_arc()
                .unwrap_or_else(|_| self.runtime.clone()),
            None => self.runtime.clone(),
        };
        Session::new(self.catalog.clone(), runtime, &self.config, self.nl.clone())
    }
}
