//! `abacus eval-nl FILE`: execution accuracy of ASK on the demo data, per the scoring rules
//! of shared/nl/README.md (gold columns ⊆ predicted, numbers to 1e-6, order when it matters).

use std::collections::BTreeMap;
use std::path::Path;

use abacus_engine::datafusion::arrow::array::{Array, ArrayRef, AsArray};
use abacus_engine::datafusion::arrow::compute::cast;
use abacus_engine::datafusion::arrow::datatypes::DataType;
use abacus_engine::datafusion::arrow::record_batch::RecordBatch;
use abacus_engine::datafusion::arrow::util::display::array_value_to_string;
use abacus_engine::{demo, Config, Database, Session};
use anyhow::Context;
use futures::TryStreamExt;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Bool(bool),
    Num(f64),
    Text(String),
}

fn cell_eq(a: &Cell, b: &Cell) -> bool {
    match (a, b) {
        (Cell::Num(x), Cell::Num(y)) => (x - y).abs() <= (1e-6 * x.abs().max(y.abs())).max(1e-9),
        _ => a == b,
    }
}

/// Sort key for unordered comparison: numbers to 6 significant digits, like the reference.
fn key(c: &Cell) -> (u8, f64, String) {
    match c {
        Cell::Null => (0, 0.0, String::new()),
        Cell::Num(x) => (1, format!("{x:.5e}").parse().unwrap_or(*x), String::new()),
        Cell::Bool(b) => (2, 0.0, if *b { "True" } else { "False" }.into()),
        Cell::Text(s) => (2, 0.0, s.clone()),
    }
}

fn cmp_rows(a: &[Cell], b: &[Cell]) -> std::cmp::Ordering {
    for (x, y) in a.iter().zip(b) {
        let o = key(x)
            .partial_cmp(&key(y))
            .unwrap_or(std::cmp::Ordering::Equal);
        if o != std::cmp::Ordering::Equal {
            return o;
        }
    }
    std::cmp::Ordering::Equal
}

fn column_cells(col: &ArrayRef) -> anyhow::Result<Vec<Cell>> {
    let n = col.len();
    let mut out = Vec::with_capacity(n);
    match col.data_type() {
        t if t.is_numeric() => {
            let f = cast(col, &DataType::Float64)?;
            let f = f.as_primitive::<abacus_engine::datafusion::arrow::datatypes::Float64Type>();
            for i in 0..n {
                out.push(if f.is_null(i) {
                    Cell::Null
                } else {
                    Cell::Num(f.value(i))
                });
            }
        }
        DataType::Boolean => {
            let b = col.as_boolean();
            for i in 0..n {
                out.push(if b.is_null(i) {
                    Cell::Null
                } else {
                    Cell::Bool(b.value(i))
                });
            }
        }
        DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 => {
            for i in 0..n {
                if col.is_null(i) {
                    out.push(Cell::Null);
                    continue;
                }
                let s = array_value_to_string(col, i)?.replace('T', " ");
                let s = s.strip_suffix(" 00:00:00").map(str::to_string).unwrap_or(s);
                out.push(Cell::Text(s));
            }
        }
        _ => {
            for i in 0..n {
                out.push(if col.is_null(i) {
                    Cell::Null
                } else {
                    Cell::Text(array_value_to_string(col, i)?)
                });
            }
        }
    }
    Ok(out)
}

fn rows(batches: &[RecordBatch]) -> anyhow::Result<Vec<Vec<Cell>>> {
    let mut out = Vec::new();
    for b in batches {
        let cols: Vec<Vec<Cell>> = b
            .columns()
            .iter()
            .map(column_cells)
            .collect::<anyhow::Result<_>>()?;
        for r in 0..b.num_rows() {
            out.push(cols.iter().map(|c| c[r].clone()).collect());
        }
    }
    Ok(out)
}

fn col_eq(a: &[Cell], b: &[Cell], ordered: bool) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    if !ordered {
        a.sort_by(|x, y| cmp_rows(std::slice::from_ref(x), std::slice::from_ref(y)));
        b.sort_by(|x, y| cmp_rows(std::slice::from_ref(x), std::slice::from_ref(y)));
    }
    a.iter().zip(&b).all(|(x, y)| cell_eq(x, y))
}

fn results_match(gold: &[Vec<Cell>], pred: &[Vec<Cell>], ordered: bool, mode: &str) -> bool {
    if mode == "numeric_values" {
        let nums = |rows: &[Vec<Cell>]| {
            let mut v: Vec<f64> = rows
                .iter()
                .flatten()
                .filter_map(|c| match c {
                    Cell::Num(x) => Some(*x),
                    _ => None,
                })
                .collect();
            v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
            v
        };
        let (g, p) = (nums(gold), nums(pred));
        let mut used = vec![false; p.len()];
        for a in g {
            match (0..p.len()).find(|&j| !used[j] && cell_eq(&Cell::Num(a), &Cell::Num(p[j]))) {
                Some(j) => used[j] = true,
                None => return false,
            }
        }
        return true;
    }
    if gold.len() != pred.len() {
        return false;
    }
    if gold.is_empty() {
        return true;
    }
    let (gc, pc) = (gold[0].len(), pred[0].len());
    let mut chosen: Vec<usize> = Vec::new();
    for i in 0..gc {
        let gcol: Vec<Cell> = gold.iter().map(|r| r[i].clone()).collect();
        let j = (0..pc).find(|j| {
            !chosen.contains(j)
                && col_eq(
                    &gcol,
                    &pred.iter().map(|r| r[*j].clone()).collect::<Vec<_>>(),
                    ordered,
                )
        });
        match j {
            Some(j) => chosen.push(j),
            None => return false,
        }
    }
    let mut proj: Vec<Vec<Cell>> = pred
        .iter()
        .map(|r| chosen.iter().map(|j| r[*j].clone()).collect())
        .collect();
    let mut g = gold.to_vec();
    if !ordered {
        g.sort_by(|a, b| cmp_rows(a, b));
        proj.sort_by(|a, b| cmp_rows(a, b));
    }
    g.iter()
        .zip(&proj)
        .all(|(a, b)| a.iter().zip(b).all(|(x, y)| cell_eq(x, y)))
}

async fn run_sql(session: &Session, sql: &str) -> anyhow::Result<Vec<Vec<Cell>>> {
    match session.execute_one(sql).await? {
        abacus_engine::Output::Rows(stream) => {
            let batches: Vec<RecordBatch> = stream.try_collect().await?;
            rows(&batches)
        }
        other => anyhow::bail!("expected rows, got {other:?}"),
    }
}

#[derive(Default)]
struct Tally {
    right: usize,
    total: usize,
}

impl Tally {
    fn add(&mut self, ok: bool) {
        self.total += 1;
        self.right += ok as usize;
    }
    fn pct(&self) -> String {
        if self.total == 0 {
            "—".into()
        } else {
            format!(
                "{:.1} % ({}/{})",
                100.0 * self.right as f64 / self.total as f64,
                self.right,
                self.total
            )
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Runs the evaluation; returns the process exit status (0 when every item ran).
pub async fn run(
    file: &Path,
    data: Option<&Path>,
    scale: f64,
    verbose: bool,
) -> anyhow::Result<i32> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let items: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l)
                .with_context(|| format!("{}:{}: not a JSON object", file.display(), i + 1))
        })
        .collect::<anyhow::Result<_>>()?;
    let temp;
    let dir = match data {
        Some(d) => d.to_path_buf(),
        None => {
            temp = std::env::temp_dir().join(format!("abacus-eval-nl-{}", std::process::id()));
            temp.clone()
        }
    };
    let db = Database::open(&dir, Config::default())?;
    let report = demo::generate(&db, scale, demo::Mode::IfMissing).await?;
    if !report.tables.is_empty() {
        eprintln!("{report}");
    }
    let (mut all, mut refusals, mut covered, mut precise) = (
        Tally::default(),
        Tally::default(),
        Tally::default(),
        Tally::default(),
    );
    let mut by_lang: BTreeMap<String, Tally> = BTreeMap::new();
    let mut by_dataset: BTreeMap<String, Tally> = BTreeMap::new();
    let mut by_tag: BTreeMap<String, Tally> = BTreeMap::new();
    let mut latencies = Vec::new();
    let mut builtin_latencies = Vec::new();
    for item in &items {
        let s = |k: &str| item[k].as_str().unwrap_or_default().to_string();
        let (id, dataset, lang, question) = (s("id"), s("dataset"), s("lang"), s("question"));
        let session = db.session();
        session
            .execute_one(&format!(
                "SET datafusion.catalog.default_schema = '{dataset}'"
            ))
            .await?;
        let refuse_expected = s("expected_behavior") == "refuse";
        let answer = session.ask(&question, false).await;
        let (ok, detail) = match &answer {
            Err(e) => (false, format!("error: {e}")),
            Ok(r) => {
                latencies.push(r.translate_ms);
                builtin_latencies.push(r.builtin_ms);
                match (&r.refusal, refuse_expected) {
                    (Some(_), true) => (true, "refused".into()),
                    (Some(reason), false) => (false, format!("refused: {reason}")),
                    (None, true) => (
                        false,
                        format!(
                            "answered instead of refusing: {}",
                            r.sql.clone().unwrap_or_default()
                        ),
                    ),
                    (None, false) => {
                        let pred = rows(&r.batches)?;
                        let ordered = item["order_matters"].as_bool().unwrap_or(false);
                        let mode = s("compare");
                        let mut golds = vec![s("gold_sql")];
                        if let Some(alts) = item["accepted_alternatives"].as_array() {
                            golds
                                .extend(alts.iter().filter_map(|a| a.as_str().map(str::to_string)));
                        }
                        let mut matched = false;
                        for g in &golds {
                            let gold = run_sql(&session, g)
                                .await
                                .with_context(|| format!("{id}: gold SQL failed"))?;
                            if results_match(&gold, &pred, ordered, &mode) {
                                matched = true;
                                break;
                            }
                        }
                        (
                            matched,
                            format!(
                                "{}SQL:\n{}",
                                if matched { "" } else { "wrong result; " },
                                r.sql.clone().unwrap_or_default()
                            ),
                        )
                    }
                }
            }
        };
        if refuse_expected {
            refusals.add(ok);
        } else {
            let answered = matches!(&answer, Ok(r) if r.refusal.is_none());
            covered.add(answered);
            if answered {
                precise.add(ok);
            }
        }
        all.add(ok);
        by_lang.entry(lang.clone()).or_default().add(ok);
        by_dataset.entry(dataset.clone()).or_default().add(ok);
        for t in item["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str())
        {
            by_tag.entry(t.to_string()).or_default().add(ok);
        }
        if verbose || !ok {
            println!(
                "{} {id} [{lang}] {question}\n    {}",
                if ok { "ok  " } else { "FAIL" },
                detail.replace('\n', "\n    ")
            );
        }
    }
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    builtin_latencies.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    println!("\nexecution accuracy: {}", all.pct());
    for (k, v) in &by_lang {
        println!("  lang {k:<12} {}", v.pct());
    }
    for (k, v) in &by_dataset {
        println!("  dataset {k:<12} {}", v.pct());
    }
    println!("refusals correct: {}", refusals.pct());
    println!("coverage (answered / answerable): {}", covered.pct());
    println!("precision on answered: {}", precise.pct());
    println!(
        "builtin translator latency: p50 {:.3} ms, p95 {:.3} ms, max {:.3} ms",
        percentile(&builtin_latencies, 0.5),
        percentile(&builtin_latencies, 0.95),
        builtin_latencies.last().copied().unwrap_or(0.0)
    );
    println!(
        "question to checked SQL (catalog refresh, translation, planning): p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.95),
        latencies.last().copied().unwrap_or(0.0)
    );
    println!("by tag:");
    for (k, v) in &by_tag {
        println!("  {k:<24} {}", v.pct());
    }
    if data.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(0)
}
