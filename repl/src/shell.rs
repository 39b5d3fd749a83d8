//! The read-eval-print loop, and the script runner behind `-c`, `-f`, stdin and `\i`.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use futures::StreamExt;
use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::Editor;

use crate::completion::{query_strings, Names, ShellHelper};
use crate::meta::{self, Meta};
use crate::progress::Progress;
use crate::{print_output, Backend, Format};

/// Runs every statement of `sql`, printing each result to `out`; stops at the first error
/// and returns it.
pub async fn run_script(
    backend: &dyn Backend,
    sql: &str,
    format: Format,
    out: &mut (dyn Write + Send),
    timing: bool,
) -> abacus_engine::Result<()> {
    let mut stream = backend.execute(sql);
    loop {
        let started = Instant::now();
        let Some(output) = stream.next().await else {
            return Ok(());
        };
        for notice in backend.take_notices() {
            eprintln!("NOTICE: {notice}");
        }
        let progress = Progress::start();
        print_output(output?, format, out, Some(&progress)).await?;
        progress.finish();
        if timing {
            let _ = writeln!(
                out,
                "Time: {:.3} ms",
                started.elapsed().as_secs_f64() * 1000.0
            );
        }
    }
}

/// The interactive shell.
pub struct Repl<B: Backend + 'static> {
    backend: Arc<B>,
    format: Format,
    timing: bool,
    default_schema: String,
    names: Arc<RwLock<Names>>,
}

fn history_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".abacus_history"))
}

impl<B: Backend + 'static> Repl<B> {
    pub fn new(backend: Arc<B>, format: Format) -> Self {
        Self {
            backend,
            format,
            timing: false,
            default_schema: "public".into(),
            names: Arc::new(RwLock::new(Names::default())),
        }
    }

    /// Blocks until `\q` or end of input. Must not be called from inside the runtime.
    pub fn run(mut self, rt: &tokio::runtime::Handle) -> rustyline::Result<()> {
        let config = rustyline::Config::builder().auto_add_history(false).build();
        let mut editor: Editor<ShellHelper, FileHistory> = Editor::with_config(config)?;
        editor.set_helper(Some(ShellHelper {
            names: self.names.clone(),
        }));
        let history = history_path();
        if let Some(h) = &history {
            let _ = editor.load_history(h);
        }
        self.refresh_names(rt);
        println!(
            "Abacus {} — type \\? for help, \\q to quit; end SQL statements with ';'",
            env!("CARGO_PKG_VERSION")
        );
        loop {
            match editor.readline("abacus> ") {
                Ok(line) => {
                    if line.trim().is_empty() {
                        continue;
                    }
                    let _ = editor.add_history_entry(line.as_str());
                    if let Some(h) = &history {
                        let _ = editor.append_history(h);
                    }
                    if !self.handle(rt, &line) {
                        break;
                    }
                }
                Err(ReadlineError::Interrupted) => continue,
                Err(ReadlineError::Eof) => break,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Returns false when the shell should exit.
    fn handle(&mut self, rt: &tokio::runtime::Handle, line: &str) -> bool {
        let trimmed = line.trim();
        if !trimmed.starts_with('\\') {
            self.run_sql(rt, trimmed);
            let first = trimmed
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            if matches!(
                first.as_str(),
                "CREATE" | "DROP" | "ALTER" | "COPY" | "RESTORE"
            ) {
                self.refresh_names(rt);
            }
            return true;
        }
        match meta::parse(trimmed, &self.default_schema) {
            Ok(Meta::Quit) => return false,
            Ok(Meta::Help) => println!("{}", meta::HELP),
            Ok(Meta::Timing) => {
                self.timing = !self.timing;
                println!("Timing is {}.", if self.timing { "on" } else { "off" });
            }
            Ok(Meta::SetFormat(None)) => println!("Output format is {}.", self.format),
            Ok(Meta::SetFormat(Some(f))) => {
                self.format = f;
                println!("Output format is {f}.");
            }
            Ok(Meta::Include(path)) => match std::fs::read_to_string(&path) {
                Ok(sql) => {
                    self.run_sql(rt, &sql);
                    self.refresh_names(rt);
                }
                Err(e) => eprintln!("ERROR: {path}: {e}"),
            },
            Ok(Meta::Sql(sql)) => self.run_sql(rt, &sql),
            Ok(Meta::Listing { sql, empty }) => {
                let backend = self.backend.clone();
                let has_rows = rt.block_on(async {
                    !query_strings(&*backend, &format!("SELECT 1 FROM ({sql}) AS x LIMIT 1"))
                        .await
                        .is_empty()
                });
                if has_rows {
                    self.run_sql_as(rt, &sql, Format::Table);
                } else {
                    println!("{empty}");
                }
            }
            Err(e) => eprintln!("ERROR: {e}"),
        }
        true
    }

    fn run_sql(&self, rt: &tokio::runtime::Handle, sql: &str) {
        self.run_sql_as(rt, sql, self.format)
    }

    /// Runs statements until one fails; Ctrl-C cancels the running one.
    fn run_sql_as(&self, rt: &tokio::runtime::Handle, sql: &str, format: Format) {
        let backend = self.backend.clone();
        let timing = self.timing;
        let result = rt.block_on(async move {
            let mut out = std::io::stdout();
            tokio::select! {
                r = run_script(&*backend, sql, format, &mut out, timing) => Some(r),
                _ = tokio::signal::ctrl_c() => None,
            }
        });
        match result {
            Some(Ok(())) => {}
            Some(Err(e)) => eprintln!("ERROR: {e}"),
            None => eprintln!("Cancelled."),
        }
    }

    fn refresh_names(&self, rt: &tokio::runtime::Handle) {
        let backend = self.backend.clone();
        let names = rt.block_on(async move { Names::load(&*backend).await });
        *self.names.write().unwrap_or_else(|p| p.into_inner()) = names;
    }
}
