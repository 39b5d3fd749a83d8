//! `abacus ask "<question>"`: one question from the command line, as a table or JSON.

use abacus_engine::datafusion::arrow::json::ArrayWriter;
use abacus_engine::datafusion::arrow::record_batch::RecordBatch;
use abacus_engine::{Database, Output};
use serde_json::{json, Value};

/// Exit status when the question is refused (errors exit with 1).
pub const REFUSED: i32 = 2;

fn rows_json(batches: &[RecordBatch]) -> anyhow::Result<Value> {
    let mut writer = ArrayWriter::new(Vec::new());
    for b in batches {
        writer.write(b)?;
    }
    writer.finish()?;
    let bytes = writer.into_inner();
    if bytes.is_empty() {
        return Ok(json!([]));
    }
    Ok(serde_json::from_slice(&bytes)?)
}

/// Returns the process exit status.
pub async fn run(
    db: &Database,
    question: &str,
    json_out: bool,
    sql_only: bool,
) -> anyhow::Result<i32> {
    let session = db.session();
    let r = session.ask(question, sql_only).await?;
    if let Some(reason) = &r.refusal {
        if json_out {
            println!(
                "{}",
                json!({"question": question, "refused": true, "reason": reason})
            );
        } else {
            eprintln!("refused: {reason}");
        }
        return Ok(REFUSED);
    }
    let sql = r.sql.clone().unwrap_or_default();
    for n in session.take_notices() {
        eprintln!("NOTICE: {n}");
    }
    if json_out {
        let mut out = json!({
            "question": question,
            "sql": sql,
            "provider": r.provider,
            "execution_time_ms": (r.execution_time_ms * 1000.0).round() / 1000.0,
        });
        if !sql_only {
            out["row_count"] = json!(r.row_count);
            out["data"] = rows_json(&r.batches)?;
        }
        println!("{out}");
        return Ok(0);
    }
    if sql_only {
        println!("{sql}");
        return Ok(0);
    }
    eprintln!("-- {} SQL:\n{sql}", r.provider);
    let stream = futures::stream::iter(r.batches.into_iter().map(Ok));
    let output = Output::Rows(Box::pin(
        abacus_engine::datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(
            r.schema, stream,
        ),
    ));
    let mut stdout = std::io::stdout();
    abacus_repl::print_output(output, abacus_repl::Format::Table, &mut stdout, None).await?;
    Ok(0)
}
