//! TPC-H: the 22 queries through an Abacus session over Abacus (Delta) tables loaded with
//! `COPY`, and through a bare DataFusion `SessionContext` over the same Parquet files, in one
//! process, interleaved per query: one warm-up, then the median of `--runs` (3).
//!
//!     tpchgen-cli parquet --scale-factor 1 --output-dir ~/.cache/abacus/tpch/sf1
//!     cargo bench --profile dist --bench tpch -- --data ~/.cache/abacus/tpch/sf1
//!
//! Options: `--data DIR` (the `<table>.parquet` files; default `$TPCH_DATA`), `--db DIR` (the
//! Abacus data directory, loaded once; default `DIR/abacus-db`), `--threads N` (tokio workers
//! and target partitions for both engines; default all cores), `--runs N`, `--queries 1,6,17`,
//! `--set key=value` (a `SET` on every engine, e.g.
//! `datafusion.execution.parquet.pushdown_filters=true`), `--json FILE` (per-run timings),
//! `--delta-files` (adds DataFusion over the Parquet files that COPY wrote, to separate the
//! file layout from the cost of the Delta scan).
//!
//! `--worker abacus|datafusion` hosts one engine and answers `benches/tpch.py`: each stdin line
//! is `{"name": …, "sql": …}`, each reply `{"name": …, "seconds": …, "rows": …}`.
//!
//! Under `cargo test` (no `--bench` argument) it only checks that the 22 queries plan and run
//! in both engines over empty tables.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use abacus_engine::datafusion::arrow::record_batch::RecordBatch;
use abacus_engine::datafusion::arrow::util::pretty::pretty_format_batches;
use abacus_engine::datafusion::execution::SendableRecordBatchStream;
use abacus_engine::datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use abacus_engine::{Config, Database, Output, Session};
use futures::TryStreamExt;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const TABLES: [&str; 8] = [
    "region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem",
];

/// TPC-H's schema, for the smoke run over empty tables.
const EMPTY_SCHEMA: &str = "
CREATE TABLE region (r_regionkey BIGINT, r_name VARCHAR, r_comment VARCHAR);
CREATE TABLE nation (n_nationkey BIGINT, n_name VARCHAR, n_regionkey BIGINT, n_comment VARCHAR);
CREATE TABLE supplier (s_suppkey BIGINT, s_name VARCHAR, s_address VARCHAR, s_nationkey BIGINT,
    s_phone VARCHAR, s_acctbal DECIMAL(15,2), s_comment VARCHAR);
CREATE TABLE customer (c_custkey BIGINT, c_name VARCHAR, c_address VARCHAR, c_nationkey BIGINT,
    c_phone VARCHAR, c_acctbal DECIMAL(15,2), c_mktsegment VARCHAR, c_comment VARCHAR);
CREATE TABLE part (p_partkey BIGINT, p_name VARCHAR, p_mfgr VARCHAR, p_brand VARCHAR,
    p_type VARCHAR, p_size INT, p_container VARCHAR, p_retailprice DECIMAL(15,2), p_comment VARCHAR);
CREATE TABLE partsupp (ps_partkey BIGINT, ps_suppkey BIGINT, ps_availqty INT,
    ps_supplycost DECIMAL(15,2), ps_comment VARCHAR);
CREATE TABLE orders (o_orderkey BIGINT, o_custkey BIGINT, o_orderstatus VARCHAR,
    o_totalprice DECIMAL(15,2), o_orderdate DATE, o_orderpriority VARCHAR, o_clerk VARCHAR,
    o_shippriority INT, o_comment VARCHAR);
CREATE TABLE lineitem (l_orderkey BIGINT, l_partkey BIGINT, l_suppkey BIGINT, l_linenumber INT,
    l_quantity DECIMAL(15,2), l_extendedprice DECIMAL(15,2), l_discount DECIMAL(15,2),
    l_tax DECIMAL(15,2), l_returnflag VARCHAR, l_linestatus VARCHAR, l_shipdate DATE,
    l_commitdate DATE, l_receiptdate DATE, l_shipinstruct VARCHAR, l_shipmode VARCHAR,
    l_comment VARCHAR)";

/// The 22 queries, `benches/tpch/queries/qN.sql`.
fn queries() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/tpch/queries");
    (1..=22)
        .map(|n| {
            let path = dir.join(format!("q{n}.sql"));
            let sql = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (format!("q{n}"), sql)
        })
        .collect()
}

enum Engine {
    Abacus(Box<Session>),
    /// A bare context and its label.
    DataFusion(SessionContext, &'static str),
}

impl Engine {
    fn name(&self) -> &'static str {
        match self {
            Engine::Abacus(_) => "abacus",
            Engine::DataFusion(_, label) => label,
        }
    }

    /// Plans and runs `sql`, consuming every batch.
    async fn run(&self, sql: &str) -> Result<Vec<RecordBatch>, BoxError> {
        let stream: SendableRecordBatchStream = match self {
            Engine::Abacus(session) => match session.execute_one(sql).await? {
                Output::Rows(stream) => stream,
                Output::Command { tag, .. } => return Err(format!("no rows: {tag}").into()),
            },
            Engine::DataFusion(ctx, _) => ctx.sql(sql).await?.execute_stream().await?,
        };
        Ok(stream.try_collect().await?)
    }

    /// `SET key = value` for each `key=value`.
    async fn set(&self, settings: &[String]) -> Result<(), BoxError> {
        for setting in settings {
            let (key, value) = setting.split_once('=').ok_or("--set key=value")?;
            self.run_statement(&format!("SET {key} = {value}")).await?;
        }
        Ok(())
    }

    async fn run_statement(&self, sql: &str) -> Result<(), BoxError> {
        match self {
            Engine::Abacus(session) => {
                session.execute_one(sql).await?;
            }
            Engine::DataFusion(ctx, _) => {
                ctx.sql(sql).await?.collect().await?;
            }
        }
        Ok(())
    }

    /// Seconds and rows of one run.
    async fn time(&self, sql: &str) -> Result<(f64, usize, Vec<RecordBatch>), BoxError> {
        let start = Instant::now();
        let batches = self.run(sql).await?;
        let seconds = start.elapsed().as_secs_f64();
        let rows = batches.iter().map(RecordBatch::num_rows).sum();
        Ok((seconds, rows, batches))
    }
}

struct Args {
    data: Option<PathBuf>,
    db: Option<PathBuf>,
    threads: usize,
    runs: usize,
    queries: Option<Vec<String>>,
    json: Option<PathBuf>,
    worker: Option<String>,
    bench: bool,
    delta_files: bool,
    /// `SET` statements for every engine, e.g. `datafusion.execution.parquet.pushdown_filters=true`.
    set: Vec<String>,
}

fn parse_args() -> Args {
    let mut args = Args {
        data: std::env::var_os("TPCH_DATA").map(PathBuf::from),
        db: None,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        runs: 3,
        queries: None,
        json: None,
        worker: None,
        bench: false,
        delta_files: false,
        set: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--bench" => args.bench = true,
            "--data" => args.data = Some(PathBuf::from(value())),
            "--db" => args.db = Some(PathBuf::from(value())),
            "--threads" => args.threads = value().parse().expect("--threads N"),
            "--runs" => args.runs = value().parse().expect("--runs N"),
            "--queries" => {
                args.queries = Some(
                    value()
                        .split(',')
                        .map(|q| format!("q{}", q.trim().trim_start_matches('q')))
                        .collect(),
                )
            }
            "--json" => args.json = Some(PathBuf::from(value())),
            "--worker" => args.worker = Some(value()),
            "--delta-files" => args.delta_files = true,
            "--set" => args.set.push(value()),
            // cargo test / cargo bench pass libtest-style flags; ignore them.
            _ => {}
        }
    }
    args
}

fn main() -> Result<(), BoxError> {
    let args = parse_args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .enable_all()
        .build()?;
    if args.worker.is_none() && !args.bench {
        return rt.block_on(smoke());
    }
    let data = args
        .data
        .clone()
        .ok_or("give --data DIR (or TPCH_DATA): a folder with the TPC-H <table>.parquet files")?;
    let db_dir = args.db.clone().unwrap_or_else(|| data.join("abacus-db"));
    rt.block_on(async {
        match args.worker.as_deref() {
            Some("abacus") => {
                worker(Engine::Abacus(Box::new(
                    abacus(&db_dir, &data, args.threads).await?,
                )))
                .await
            }
            Some("datafusion") => {
                let ctx = datafusion(args.threads, |t| data.join(format!("{t}.parquet"))).await?;
                worker(Engine::DataFusion(ctx, "datafusion")).await
            }
            Some(other) => Err(format!("unknown worker {other}: abacus or datafusion").into()),
            None => compare(&args, &data, &db_dir).await,
        }
    })
}

/// An Abacus session over `db`, loading the tables from `data` with COPY when missing.
async fn abacus(db: &Path, data: &Path, threads: usize) -> Result<Session, BoxError> {
    let config = Config {
        threads: Some(threads),
        ..Config::default()
    };
    let database = Database::open(db, config)?;
    let session = database.session();
    for table in TABLES {
        if database.catalog().table_exists("public", table) {
            continue;
        }
        let file = data.join(format!("{table}.parquet"));
        let start = Instant::now();
        let sql = format!("COPY {table} FROM '{}'", file.display());
        let out = session.execute_one(&sql).await?;
        eprintln!(
            "loaded {table}: {out:?} in {:.2} s",
            start.elapsed().as_secs_f64()
        );
    }
    Ok(session)
}

/// A bare DataFusion context over Parquet files (`location` of each table), same parallelism.
async fn datafusion(
    threads: usize,
    location: impl Fn(&str) -> PathBuf,
) -> Result<SessionContext, BoxError> {
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(threads));
    for table in TABLES {
        let file = location(table);
        ctx.register_parquet(
            table,
            file.to_string_lossy().as_ref(),
            ParquetReadOptions::default(),
        )
        .await?;
    }
    Ok(ctx)
}

/// Answers `benches/tpch.py`: one JSON request per stdin line, one JSON reply per line.
async fn worker(engine: Engine) -> Result<(), BoxError> {
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{}", serde_json::json!({"ready": engine.name()}))?;
    stdout.flush()?;
    for line in stdin.lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let request: serde_json::Value = serde_json::from_str(&line)?;
        let name = request["name"].as_str().unwrap_or("?").to_string();
        let sql = request["sql"].as_str().ok_or("request without sql")?;
        let reply = match engine.time(sql).await {
            Ok((seconds, rows, batches)) => {
                let answer = if request["answer"].as_bool() == Some(true) {
                    pretty_format_batches(&batches)?.to_string()
                } else {
                    String::new()
                };
                serde_json::json!({"name": name, "seconds": seconds, "rows": rows, "answer": answer})
            }
            Err(e) => serde_json::json!({"name": name, "error": e.to_string()}),
        };
        writeln!(stdout, "{reply}")?;
        stdout.flush()?;
    }
    Ok(())
}

/// query, Abacus s, DataFusion s, rows, same answer, DataFusion over the Delta files s.
type Row = (String, f64, f64, usize, bool, Option<f64>);

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// Both engines in this process, interleaved per query.
async fn compare(args: &Args, data: &Path, db_dir: &Path) -> Result<(), BoxError> {
    let mut engines = vec![
        Engine::Abacus(Box::new(abacus(db_dir, data, args.threads).await?)),
        Engine::DataFusion(
            datafusion(args.threads, |t| data.join(format!("{t}.parquet"))).await?,
            "datafusion",
        ),
    ];
    if args.delta_files {
        // The Parquet files COPY wrote (one commit, nothing removed), read without Delta:
        // separates the cost of the file layout from the cost of the Delta scan.
        let ctx = datafusion(args.threads, |t| {
            db_dir.join("public").join(format!("{t}/"))
        })
        .await?;
        engines.push(Engine::DataFusion(ctx, "datafusion-delta-files"));
    }
    for engine in &engines {
        engine.set(&args.set).await?;
    }
    let mut timings: BTreeMap<(usize, &str), Vec<f64>> = BTreeMap::new();
    let mut table: Vec<Row> = Vec::new();
    for (index, (name, sql)) in queries().into_iter().enumerate() {
        if let Some(only) = &args.queries {
            if !only.contains(&name) {
                continue;
            }
        }
        // Warm-up: page cache, Delta log, Parquet metadata; also compares the answers.
        let mut answers = Vec::new();
        for engine in &engines {
            let (_, rows, batches) = engine
                .time(&sql)
                .await
                .map_err(|e| format!("{name} on {}: {e}", engine.name()))?;
            answers.push((rows, pretty_format_batches(&batches)?.to_string()));
        }
        let same = answers.windows(2).all(|w| w[0] == w[1]);
        for _ in 0..args.runs {
            for engine in &engines {
                let (seconds, _, _) = engine.time(&sql).await?;
                timings
                    .entry((index, engine.name()))
                    .or_default()
                    .push(seconds);
            }
        }
        let a = median(&timings[&(index, "abacus")]);
        let d = median(&timings[&(index, "datafusion")]);
        let extra = timings
            .get(&(index, "datafusion-delta-files"))
            .map(|t| median(t));
        eprintln!(
            "{name}: abacus {a:.3} s, datafusion {d:.3} s, ratio {:.2}{}{}",
            a / d,
            extra.map_or(String::new(), |x| format!(
                ", datafusion over the Delta files {x:.3} s"
            )),
            if same { "" } else { " (answers differ)" }
        );
        table.push((name, a, d, answers[0].0, same, extra));
    }
    println!(
        "threads: {}, median of {} after one warm-up, one process, engines interleaved\n",
        args.threads, args.runs
    );
    let extra_col = args.delta_files;
    println!(
        "| query | rows | Abacus s | DataFusion s | Abacus / DataFusion | same answer |{}",
        if extra_col {
            " DataFusion over the Delta files s |"
        } else {
            ""
        }
    );
    println!(
        "|---|---|---|---|---|---|{}",
        if extra_col { "---|" } else { "" }
    );
    let (mut ta, mut td, mut tx, mut log_ratio) = (0.0, 0.0, 0.0, 0.0);
    for (name, a, d, rows, same, extra) in &table {
        println!(
            "| {name} | {rows} | {a:.3} | {d:.3} | {:.2} | {} |{}",
            a / d,
            if *same { "yes" } else { "NO" },
            extra.map_or(String::new(), |x| format!(" {x:.3} |"))
        );
        ta += a;
        td += d;
        tx += extra.unwrap_or(0.0);
        log_ratio += (a / d).ln();
    }
    let geo = |f: &dyn Fn(&Row) -> f64| {
        (table.iter().map(|r| f(r).ln()).sum::<f64>() / table.len() as f64).exp()
    };
    println!(
        "| total | | {ta:.3} | {td:.3} | {:.3} | |{}",
        ta / td,
        if extra_col {
            format!(" {tx:.3} |")
        } else {
            String::new()
        }
    );
    println!(
        "| geometric mean | | {:.4} | {:.4} | {:.3} | |{}",
        geo(&|r| r.1),
        geo(&|r| r.2),
        (log_ratio / table.len() as f64).exp(),
        if extra_col {
            format!(" {:.4} |", geo(&|r| r.5.unwrap_or(1.0)))
        } else {
            String::new()
        }
    );
    if let Some(path) = &args.json {
        let runs: Vec<_> = timings
            .iter()
            .map(|((i, engine), s)| serde_json::json!({"query": format!("q{}", i + 1), "engine": engine, "seconds": s}))
            .collect();
        std::fs::write(path, serde_json::to_string_pretty(&runs)?)?;
    }
    Ok(())
}

/// `cargo test`: every query plans and runs in both engines over empty tables.
async fn smoke() -> Result<(), BoxError> {
    let dir = tempfile::tempdir()?;
    let database = Database::open(dir.path(), Config::default())?;
    let session = database.session();
    let ctx = SessionContext::new();
    for statement in EMPTY_SCHEMA.split(';') {
        session.execute_one(statement).await?;
        ctx.sql(statement).await?.collect().await?;
    }
    let engines = [
        Engine::Abacus(Box::new(session)),
        Engine::DataFusion(ctx, "datafusion"),
    ];
    for (name, sql) in queries() {
        for engine in &engines {
            engine
                .run(&sql)
                .await
                .map_err(|e| format!("{name} on {}: {e}", engine.name()))?;
        }
    }
    eprintln!("tpch smoke: 22 queries ran on both engines over empty tables");
    Ok(())
}
