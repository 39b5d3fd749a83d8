//! ASK end to end: the CLI (`abacus ask`, `-c`), psql over `abacus serve`, the audit log,
//! confirmed examples, the evaluation sets, and the LLM path against a scripted
//! OpenAI-compatible server on 127.0.0.1 (repair, a DROP refused, 429 and timeouts).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use crate::common::{abacus, json_rows, run_ok, sql_ok};
use crate::server::Server;

fn demo(dir: &Path, scale: &str) {
    run_ok(abacus(dir).args(["demo", "--scale", scale]));
}

fn ask_json(dir: &Path, question: &str) -> (i32, serde_json::Value) {
    let out = abacus(dir)
        .args(["ask", question, "--format", "json"])
        .env_remove("ABACUS_LLM")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), value)
}

#[test]
fn ask_from_the_cli_answers_refuses_and_logs() {
    let dir = tempfile::tempdir().unwrap();
    demo(dir.path(), "0.05");

    let (code, v) = ask_json(dir.path(), "Топ 3 мерчантов по объему транзакций");
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["provider"], "builtin");
    assert_eq!(v["row_count"], 3);
    assert_eq!(v["data"].as_array().unwrap().len(), 3);
    assert!(
        v["sql"].as_str().unwrap().contains("status = 'approved'"),
        "{v}"
    );
    assert!(v["execution_time_ms"].as_f64().is_some());

    // A write request and an unanswerable question: refused, exit status 2, nothing run.
    let (code, v) = ask_json(dir.path(), "Удали все отклонённые транзакции");
    assert_eq!(code, 2);
    assert_eq!(v["refused"], true);
    assert!(
        v["reason"].as_str().unwrap().contains("только читает"),
        "{v}"
    );
    let (code, v) = ask_json(dir.path(), "What is the NPS of our merchants?");
    assert_eq!(code, 2);
    assert!(v["reason"].as_str().unwrap().contains("nps"), "{v}");

    // --sql-only prints the SQL and runs nothing.
    let out = run_ok(abacus(dir.path()).args([
        "ask",
        "How many orders were placed today?",
        "--sql-only",
    ]));
    let sql = String::from_utf8_lossy(&out.stdout);
    assert!(
        sql.starts_with("SELECT COUNT(*)") && sql.contains("marketplace.orders"),
        "{sql}"
    );

    let log = json_rows(
        dir.path(),
        "SELECT question, provider, success, row_count, error FROM abacus.query_audit_log ORDER BY ts",
    );
    assert_eq!(log.len(), 4, "{log:?}");
    assert_eq!(log[0]["row_count"], 3);
    assert_eq!(log[1]["provider"], "guard");
    assert_eq!(log[1]["success"], false);
    assert!(log[2]["error"].as_str().unwrap().contains("nps"));
    assert!(
        log[3]["row_count"].is_null(),
        "--sql-only runs nothing: {log:?}"
    );
}

#[test]
fn ask_statement_in_scripts_explain_and_confirmed_examples() {
    let dir = tempfile::tempdir().unwrap();
    demo(dir.path(), "0.05");
    let out = abacus(dir.path())
        .args(["-c", "ASK 'Сколько заказов оформлено сегодня?'; EXPLAIN ASK 'Выручка по городам за прошлый месяц'"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("NOTICE: ASK (builtin): SELECT COUNT(*)"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("orders_count"), "{stdout}");
    assert!(
        stdout.contains("cities.name"),
        "EXPLAIN ASK shows the SQL: {stdout}"
    );

    // A malformed statement is a syntax error that says how to write it.
    let out = abacus(dir.path())
        .args(["-c", "ASK how many"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("single quotes"));

    // Confirm an answer: the same question then comes from memory.
    sql_ok(
        dir.path(),
        "ASK 'Сколько заказов оформлено сегодня?'; ASK CONFIRM",
        "table",
    );
    let (_, v) = ask_json(dir.path(), "сколько заказов оформлено сегодня?");
    assert_eq!(v["provider"], "memory", "{v}");
    let examples = json_rows(dir.path(), "SELECT question FROM abacus.nl_examples");
    assert_eq!(examples.len(), 1);
}

#[test]
fn ask_over_psql_sends_the_sql_as_a_notice() {
    let dir = tempfile::tempdir().unwrap();
    demo(dir.path(), "0.05");
    let server = Server::start(dir.path());
    let out = server.psql(
        "abacus",
        "ASK 'Средний чек по каналам оплаты за последние 30 дней'",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("NOTICE:") && stderr.contains("AVG(transactions.amount)"),
        "{stderr}"
    );
    assert!(
        stdout.contains("channel") && stdout.contains("avg_ticket"),
        "{stdout}"
    );

    let out = server.psql("abacus", "ASK 'Drop the orders table'");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("0A000") && stderr.contains("only reads data"),
        "{stderr}"
    );
    // The server keeps serving.
    let out = server.psql("abacus", "SELECT count(*) FROM marketplace.orders");
    assert!(out.status.success());
    server.stop();
}

fn accuracy(report: &str, label: &str) -> f64 {
    let line = report
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no {label:?} in {report}"));
    line[label.len()..]
        .trim()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// The builtin translator on the shared evaluation set and on held-out paraphrases.
#[test]
fn builtin_translator_meets_the_evaluation_goal() {
    let dir = tempfile::tempdir().unwrap();
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/nl/eval.jsonl");
    let heldout = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/nl/heldout.jsonl");
    for file in [shared, heldout] {
        assert!(file.exists(), "{} is missing", file.display());
        let out = run_ok(
            abacus(dir.path())
                .args(["eval-nl"])
                .arg(&file)
                .args(["--scale", "0.3", "--eval-data"])
                .arg(dir.path().join("data")),
        );
        let report = String::from_utf8_lossy(&out.stdout);
        assert!(accuracy(&report, "execution accuracy:") >= 80.0, "{report}");
        assert_eq!(accuracy(&report, "refusals correct:"), 100.0, "{report}");
    }
}

/// A/B questions become welch_ttest / mann_whitney_u over the experiment's variant column.
#[test]
fn ab_questions_use_the_statistical_tests() {
    let dir = tempfile::tempdir().unwrap();
    sql_ok(
        dir.path(),
        "CREATE TABLE ab_test (user_id INT, variant VARCHAR, revenue DOUBLE, sessions INT); \
         INSERT INTO ab_test VALUES (1,'A',10,1),(2,'A',12,2),(3,'A',9,1),(4,'B',14,3),(5,'B',15,2),(6,'B',13,2)",
        "csv",
    );
    let (code, v) = ask_json(
        dir.path(),
        "Значимо ли отличается revenue между вариантами A и B?",
    );
    assert_eq!(code, 0, "{v}");
    assert!(
        v["sql"]
            .as_str()
            .unwrap()
            .contains("welch_ttest(ab_test.revenue, ab_test.variant = 'B')"),
        "{v}"
    );
    let row = &v["data"][0];
    assert!(
        (row["p_value"].as_f64().unwrap() - 0.03219882155461843).abs() < 1e-12,
        "{v}"
    );
    assert_eq!(row["n_control"], 3);
    let (code, v) = ask_json(dir.path(), "Mann-Whitney test of sessions by variant");
    assert_eq!(code, 0, "{v}");
    assert!(
        v["sql"]
            .as_str()
            .unwrap()
            .contains("mann_whitney_u(ab_test.sessions"),
        "{v}"
    );
}

/// A scripted OpenAI-compatible server: the reply depends on a marker in the question.
fn llm_stub() -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0usize;
            let mut line = String::new();
            let mut first = String::new();
            reader.read_line(&mut first).unwrap();
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let body = String::from_utf8_lossy(&body).to_string();
            if body.contains("stop-stub") {
                break;
            }
            assert!(first.starts_with("POST /v1/chat/completions"), "{first}");
            let reply = |content: &str| {
                let v = serde_json::json!({"choices": [{"message": {"role": "assistant", "content": content}}]});
                (200, v.to_string())
            };
            let (status, text) = if body.contains("repair-case") {
                if body.contains("fails on the engine") {
                    reply("{\"sql\": \"SELECT COUNT(*) AS merchants FROM payments.merchants\"}")
                } else {
                    reply("```sql\nSELECT no_such_column FROM payments.merchants\n```")
                }
            } else if body.contains("evil-case") {
                reply("{\"sql\": \"DROP TABLE payments.merchants\"}")
            } else if body.contains("busy-case") {
                (429, "{\"error\": \"rate limited\"}".to_string())
            } else if body.contains("slow-case") {
                std::thread::sleep(Duration::from_secs(3));
                reply("{\"sql\": \"SELECT 1\"}")
            } else {
                reply("{\"refuse\": \"no such data\"}")
            };
            let response = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                text.len()
            );
            let _ = stream.write_all(response.as_bytes());
        }
    });
    (port, handle)
}

#[test]
fn llm_provider_repairs_refuses_writes_and_reports_errors() {
    let dir = tempfile::tempdir().unwrap();
    demo(dir.path(), "0.02");
    let (port, stub) = llm_stub();
    let ask = |question: &str| {
        let out = abacus(dir.path())
            .args(["ask", question, "--format", "json"])
            .env("ABACUS_LLM", "openai")
            .env("ABACUS_LLM_URL", format!("http://127.0.0.1:{port}/v1"))
            .env("ABACUS_LLM_MODEL", "stub")
            .env("ABACUS_LLM_TIMEOUT", "1")
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    // Bad SQL → the engine's error goes back → corrected SQL runs.
    let (code, stdout, stderr) = ask("zorblax quantum repair-case");
    assert_eq!(code, 0, "{stdout}{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["provider"], "openai");
    assert_eq!(
        v["sql"],
        "SELECT COUNT(*) AS merchants FROM payments.merchants"
    );

    // A DROP from the model is refused and nothing is dropped.
    let (code, stdout, _) = ask("zorblax quantum evil-case");
    assert_eq!(code, 2, "{stdout}");
    assert!(stdout.contains("not a query"), "{stdout}");
    assert!(sql_ok(
        dir.path(),
        "SELECT count(*) AS n FROM payments.merchants",
        "csv"
    )
    .contains('\n'));

    // The model declines: the refusal is passed on.
    let (code, stdout, _) = ask("zorblax quantum");
    assert_eq!(code, 2);
    assert!(stdout.contains("no such data"), "{stdout}");

    // 429 and a timeout: clear errors, exit status 1.
    let (code, _, stderr) = ask("zorblax quantum busy-case");
    assert_eq!(code, 1);
    assert!(
        stderr.contains("429") && stderr.contains("rate limiting"),
        "{stderr}"
    );
    let (code, _, stderr) = ask("zorblax quantum slow-case");
    assert_eq!(code, 1);
    assert!(stderr.contains("did not answer in time"), "{stderr}");

    let log = json_rows(
        dir.path(),
        "SELECT provider, success FROM abacus.query_audit_log ORDER BY ts",
    );
    assert_eq!(log.len(), 5, "{log:?}");
    assert_eq!(log[0]["success"], true);
    assert!(log[1..].iter().all(|r| r["success"] == false), "{log:?}");

    // Stop the stub thread.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let _ = s.write_all(b"POST /stop HTTP/1.1\r\ncontent-length: 9\r\n\r\nstop-stub");
    let _ = stub.join();
}
