//! A spinner with elapsed time and rows so far, shown on stderr once a query runs past a second.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Only drawn when stderr is a terminal, so pipes and logs never see it.
pub struct Progress {
    rows: Arc<AtomicU64>,
    bar: ProgressBar,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

const DELAY: Duration = Duration::from_secs(1);

impl Progress {
    pub fn start() -> Self {
        let rows = Arc::new(AtomicU64::new(0));
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                .expect("static template parses"),
        );
        let ticker = std::io::stderr().is_terminal().then(|| {
            let bar = bar.clone();
            let rows = rows.clone();
            tokio::spawn(async move {
                tokio::time::sleep(DELAY).await;
                bar.set_draw_target(ProgressDrawTarget::stderr());
                loop {
                    bar.set_message(format!("{} rows", rows.load(Ordering::Relaxed)));
                    bar.tick();
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
        });
        Self { rows, bar, ticker }
    }

    pub fn add_rows(&self, n: u64) {
        self.rows.fetch_add(n, Ordering::Relaxed);
    }

    pub fn finish(&self) {
        if let Some(t) = &self.ticker {
            t.abort();
        }
        self.bar.finish_and_clear();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
