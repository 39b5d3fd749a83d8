//! The REPL through a pseudo-terminal: multi-line input, \d, completion, errors, Ctrl-C.

use std::process::Command;
use std::time::Duration;

use expectrl::{ControlCode, Expect, Session};

use crate::common::{binary, sql_ok};

fn start(data: &std::path::Path, home: &std::path::Path) -> impl Expect {
    let mut cmd = Command::new(binary());
    cmd.arg("--data")
        .arg(data)
        .env("HOME", home)
        .env("TERM", "xterm")
        .env_remove("ABACUS_DATA");
    let mut session = Session::spawn(cmd).expect("spawn abacus in a pty");
    session.set_expect_timeout(Some(Duration::from_secs(60)));
    session.expect("abacus> ").expect("prompt");
    session
}

#[test]
fn repl_multiline_describe_completion_errors_and_cancel() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    sql_ok(
        &data,
        "CREATE SCHEMA payments; CREATE TABLE payments.transactions (id BIGINT NOT NULL, amount DOUBLE); \
         INSERT INTO payments.transactions VALUES (1, 2.5)",
        "table",
    );
    let mut s = start(&data, dir.path());

    // A statement spans lines until its ';'.
    s.send_line("SELECT 40").unwrap();
    s.send_line("  + 2 AS answer;").unwrap();
    s.expect("answer").unwrap();
    s.expect("42").unwrap();
    s.expect("(1 row)").unwrap();

    // \d describes a table's columns.
    s.send_line("\\d payments.transactions").unwrap();
    s.expect("column").unwrap();
    s.expect("amount").unwrap();
    s.expect("Float64").unwrap();

    // Tab completes a qualified table name; the query only runs if it did.
    s.send("SELECT count(*) AS n FROM payments.tr").unwrap();
    s.send("\t").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    s.send_line(";").unwrap();
    s.expect("(1 row)").unwrap();

    // \df shows the statistical functions with their documentation.
    s.send_line("\\df welch").unwrap();
    s.expect("welch_ttest").unwrap();
    s.expect("Welch's two-sample t-test").unwrap();

    // An error is printed and the shell goes on.
    s.send_line("SELECT nope;").unwrap();
    s.expect("ERROR").unwrap();
    s.send_line("\\dt").unwrap();
    s.expect("transactions").unwrap();

    // Ctrl-C cancels the running query, not the shell.
    // The spinner's row count shows the query is running, so the Ctrl-C cannot land on an
    // earlier command still busy on a loaded machine.
    s.send_line("SELECT sum(value) AS total FROM range(100000000000);")
        .unwrap();
    s.expect(" rows").unwrap();
    s.send(ControlCode::EndOfText).unwrap();
    s.expect("Cancelled.").unwrap();
    s.send_line("SELECT 7 AS seven;").unwrap();
    s.expect("seven").unwrap();

    s.send_line("\\q").unwrap();
    s.expect(expectrl::Eof).unwrap();

    // History was written to ~/.abacus_history.
    let history = std::fs::read_to_string(dir.path().join(".abacus_history")).unwrap();
    assert!(history.contains("SELECT 7 AS seven;"), "{history}");
}
