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

/// Values print as PostgreSQL prints them, in result rows and in COPY's text and binary
/// formats (float8 `1` and `1e+15`, timestamps without a zero fraction, numeric scale).
#[test]
fn results_and_copy_print_values_as_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let query = "SELECT CAST(1 AS DOUBLE PRECISION) AS f1, CAST(1e15 AS DOUBLE PRECISION) AS f2, \
         CAST(0.1 AS DOUBLE PRECISION) AS f3, CAST(-0.00001 AS DOUBLE PRECISION) AS f4, \
         CAST('2026-01-01 03:25:45' AS TIMESTAMP) AS t1, \
         CAST('2026-01-01 03:25:45.12' AS TIMESTAMP) AS t2, CAST('2024-02-29' AS DATE) AS d, \
         CAST(12.5 AS DECIMAL(10,2)) AS n, true AS b, 'a' || chr(9) || 'b\\c' AS s, \
         CAST(NULL AS BIGINT) AS z, CAST(7 AS SMALLINT) AS i2";
    let out = std::process::Command::new("psql")
        .env("PGSSLMODE", "disable")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &server.port.to_string(),
            "-U",
            "abacus",
        ])
        .args(["-d", "abacus", "-X", "-A", "-t", "-c", query])
        .output()
        .expect("psql runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(
            "1|1e+15|0.1|-1e-05|2026-01-01 03:25:45|2026-01-01 03:25:45.12|2024-02-29|12.50|t|a\tb\\c||7"
        ),
        "{text:?}"
    );
    let (ok, text) = run(&server, &format!("COPY ({query}) TO STDOUT"));
    assert!(
        ok && text.contains(
            "1\t1e+15\t0.1\t-1e-05\t2026-01-01 03:25:45\t2026-01-01 03:25:45.12\t2024-02-29\t12.50\tt\ta\\tb\\\\c\t\\N\t7\n"
        ),
        "{text:?}"
    );
    // Binary COPY and binary results, read back by psycopg.
    let script = format!(
        r#"
import datetime, decimal, psycopg
q = """{query}"""
with psycopg.connect("host=127.0.0.1 port={port} user=abacus dbname=abacus") as c:
    want = (1.0, 1e15, 0.1, -0.00001, datetime.datetime(2026, 1, 1, 3, 25, 45),
            datetime.datetime(2026, 1, 1, 3, 25, 45, 120000), datetime.date(2024, 2, 29))
    row = c.cursor(binary=True).execute(q.replace("CAST(12.5 AS DECIMAL(10,2))", "CAST(12.5 AS DOUBLE PRECISION)")).fetchone()
    assert row[:7] == want and row[8:] == (True, "a\tb\\c", None, 7), row
    with c.cursor().copy("COPY (" + q.replace("CAST(12.5 AS DECIMAL(10,2))", "CAST(12.5 AS DOUBLE PRECISION)") + ") TO STDOUT (FORMAT binary)") as copy:
        copy.set_types(["float8", "float8", "float8", "float8", "timestamp", "timestamp", "date",
                        "float8", "bool", "text", "int8", "int2"])
        rows = list(copy.rows())
    assert len(rows) == 1 and rows[0][:7] == want and rows[0][8:] == (True, "a\tb\\c", None, 7), rows
print("ok")
"#,
        port = server.port
    );
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(&script)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("ok"),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    server.stop();
}
