//! COPY over the wire with psql's `\copy` (COPY … FROM STDIN / TO STDOUT): CSV and text
//! formats, NULLs and escapes, and bad rows that commit nothing and name their line.

use crate::server::Server;

fn run(server: &Server, sql: &str) -> (bool, String) {
    let out = server.psql("abacus", sql);
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn psql_copy_in_and_out() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let (ok, text) = run(&server, "CREATE TABLE t (id INT, name TEXT, amount DOUBLE)");
    assert!(ok, "{text}");

    let csv = dir.path().join("in.csv");
    // As in PostgreSQL, an unquoted empty CSV field is NULL.
    std::fs::write(
        &csv,
        "id,name,amount\n1,anna,1.5\n2,\"b, \"\"bob\"\"\",\n3,,2.25\n",
    )
    .unwrap();
    let (ok, text) = run(
        &server,
        &format!(
            "\\copy t FROM '{}' WITH (FORMAT csv, HEADER)",
            csv.display()
        ),
    );
    assert!(ok && text.contains("COPY 3"), "{text}");

    // PostgreSQL's text format: tabs, \N for NULL, backslash escapes.
    let tsv = dir.path().join("in.tsv");
    std::fs::write(&tsv, "4\tline\\nbreak\t\\N\n5\t\\N\t7\n").unwrap();
    let (ok, text) = run(&server, &format!("\\copy t FROM '{}'", tsv.display()));
    assert!(ok && text.contains("COPY 2"), "{text}");

    let (ok, text) = run(
        &server,
        "SELECT id, name IS NULL AS no_name, amount IS NULL AS no_amount FROM t ORDER BY id",
    );
    assert!(ok, "{text}");
    let rows: Vec<&str> = text.lines().filter(|l| l.contains('|')).skip(1).collect();
    assert_eq!(
        rows.iter()
            .map(|r| r.split_whitespace().collect::<String>())
            .collect::<Vec<_>>(),
        ["1|f|f", "2|f|t", "3|t|f", "4|f|t", "5|t|f"],
        "{text}"
    );

    let out = dir.path().join("out.csv");
    let (ok, text) = run(
        &server,
        &format!(
            "\\copy (SELECT id, name FROM t WHERE id <= 2 ORDER BY id) TO '{}' WITH (FORMAT csv, HEADER)",
            out.display()
        ),
    );
    assert!(ok && text.contains("COPY 2"), "{text}");
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "id,name\n1,anna\n2,\"b, \"\"bob\"\"\"\n"
    );
    let (ok, text) = run(
        &server,
        "COPY (SELECT id, name FROM t WHERE id IN (4, 5) ORDER BY id) TO STDOUT",
    );
    assert!(ok, "{text}");
    assert!(text.contains("4\tline\\nbreak\n5\t\\N\n"), "{text:?}");

    // A bad row: an error naming the line, nothing committed, the server still serving.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "6,ok,1\n7,bad,not-a-number\n").unwrap();
    let (ok, text) = run(
        &server,
        &format!("\\copy t FROM '{}' WITH (FORMAT csv)", bad.display()),
    );
    assert!(!ok, "{text}");
    assert!(
        text.contains("line 2") || text.contains("not-a-number"),
        "{text}"
    );
    let (ok, text) = run(&server, "SELECT count(*) AS n FROM t");
    assert!(ok && text.contains(" 5"), "{text}");
    let (ok, text) = run(&server, &format!("\\copy missing FROM '{}'", tsv.display()));
    assert!(!ok && text.contains("42P01"), "{text}");
    server.stop();
}
