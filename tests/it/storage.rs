//! Storage guarantees through the real binary: restarts, failed loads, kills, concurrency.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::{abacus, count, json_rows, sql_ok};

fn history(data: &Path, table: &str) -> Vec<serde_json::Value> {
    json_rows(data, &format!("DESCRIBE HISTORY {table}"))
}

#[test]
fn tables_views_and_schemas_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    sql_ok(
        dir.path(),
        "CREATE SCHEMA crm; CREATE TABLE crm.clients (id INT, name VARCHAR); \
         INSERT INTO crm.clients VALUES (1, 'Анна'), (2, 'Борис'); \
         CREATE VIEW crm.named AS SELECT name FROM crm.clients WHERE id = 2",
        "table",
    );
    // A new process sees everything the first one wrote.
    let rows = json_rows(dir.path(), "SELECT name FROM crm.named");
    assert_eq!(rows, vec![serde_json::json!({"name": "Борис"})]);
    assert_eq!(count(dir.path(), "crm.clients"), 2);
    // Layout: one folder per schema, a Delta table per table, views in the catalog file.
    assert!(dir.path().join("crm/clients/_delta_log").is_dir());
    assert!(dir.path().join("public").is_dir());
    let catalog = std::fs::read_to_string(dir.path().join("_catalog.json")).unwrap();
    assert!(catalog.contains("named"), "{catalog}");
}

#[test]
fn describe_history_lists_versions_operations_and_row_counts() {
    let dir = tempfile::tempdir().unwrap();
    sql_ok(
        dir.path(),
        "CREATE TABLE h (id INT); INSERT INTO h VALUES (1), (2), (3); \
         DELETE FROM h WHERE id = 1; UPDATE h SET id = 20 WHERE id = 2; \
         RESTORE TABLE h TO VERSION AS OF 1",
        "table",
    );
    let rows = history(dir.path(), "h");
    let summary: Vec<(i64, String, Option<i64>, Option<i64>)> = rows
        .iter()
        .map(|r| {
            (
                r["version"].as_i64().unwrap(),
                r["operation"].as_str().unwrap().to_string(),
                r["rows_added"].as_i64(),
                r["rows_removed"].as_i64(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (4, "RESTORE".to_string(), None, None),
            (3, "UPDATE".to_string(), Some(1), Some(1)),
            (2, "DELETE".to_string(), Some(0), Some(1)),
            (1, "WRITE".to_string(), Some(3), Some(0)),
            (0, "CREATE TABLE".to_string(), Some(0), Some(0)),
        ]
    );
    for r in &rows {
        let ts = r["timestamp"].as_str().unwrap();
        assert!(ts.starts_with("20") && ts.contains('T'), "timestamp {ts}");
    }
    assert_eq!(count(dir.path(), "h"), 3);
}

#[test]
fn a_bad_csv_names_its_line_and_leaves_the_version_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("payments.csv");
    let mut body = String::from("id,amount\n");
    for i in 1..=5000 {
        if i == 4321 {
            body.push_str("4321,12,5\n");
        } else {
            body.push_str(&format!("{i},{}.5\n", i * 10));
        }
    }
    std::fs::write(&csv, &body).unwrap();
    sql_ok(
        dir.path(),
        "CREATE TABLE p (id BIGINT, amount DOUBLE); INSERT INTO p VALUES (0, 0)",
        "table",
    );
    let versions_before = history(dir.path(), "p").len();

    let out = abacus(dir.path())
        .args(["-c", &format!("COPY p FROM '{}'", csv.display())])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Line 4322 of the file (the header is line 1) holds data row 4321.
    assert!(
        stderr.contains("payments.csv") && stderr.contains("line 4322"),
        "{stderr}"
    );
    assert!(stderr.contains("expected 2 fields, found 3"), "{stderr}");

    assert_eq!(history(dir.path(), "p").len(), versions_before);
    assert_eq!(count(dir.path(), "p"), 1);

    // A type error names the column and what it expected.
    std::fs::write(&csv, "id,amount\n1,2.5\n2,abc\n").unwrap();
    let out = abacus(dir.path())
        .args(["-c", &format!("COPY p FROM '{}'", csv.display())])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 3, column 2 (\"amount\"): invalid value 'abc', expected a DOUBLE"),
        "{stderr}"
    );
    assert_eq!(count(dir.path(), "p"), 1);
}

fn write_big_csv(path: &Path, rows: usize) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(f, "id,customer,amount,note").unwrap();
    for i in 0..rows {
        writeln!(
            f,
            "{i},{},{}.{:02},row number {i} of a large load",
            i % 9973,
            i % 5000,
            i % 100
        )
        .unwrap();
    }
    f.flush().unwrap();
}

#[test]
fn sigkill_during_copy_leaves_the_previous_version_readable() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.csv");
    write_big_csv(&big, 3_000_000);
    let small = dir.path().join("small.csv");
    write_big_csv(&small, 10);
    sql_ok(
        dir.path(),
        &format!("COPY loads FROM '{}'", small.display()),
        "table",
    );
    let versions = history(dir.path(), "loads").len();

    let mut child = abacus(dir.path())
        .args(["-c", &format!("COPY loads FROM '{}'", big.display())])
        .spawn()
        .unwrap();
    // Wait until the load has started writing data files, then kill it.
    let table_dir = dir.path().join("public/loads");
    let parquet_files = || {
        std::fs::read_dir(&table_dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "parquet")
            })
            .count()
    };
    let files_before = parquet_files();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) && child.try_wait().unwrap().is_none() {
        if parquet_files() > files_before || started.elapsed() > Duration::from_millis(1500) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the load finished before it could be killed"
    );
    child.kill().unwrap();
    let status = child.wait().unwrap();
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(9));
    }

    assert_eq!(count(dir.path(), "loads"), 10);
    assert_eq!(history(dir.path(), "loads").len(), versions);
    // The next load succeeds and lands as the next version.
    sql_ok(
        dir.path(),
        &format!("COPY loads FROM '{}'", small.display()),
        "table",
    );
    assert_eq!(count(dir.path(), "loads"), 20);
    assert_eq!(history(dir.path(), "loads").len(), versions + 1);
}

#[test]
fn two_processes_appending_at_once_both_land() {
    let dir = tempfile::tempdir().unwrap();
    sql_ok(
        dir.path(),
        "CREATE TABLE events (writer INT, n INT)",
        "table",
    );
    let script = |writer: i32| {
        (0..10)
            .map(|n| format!("INSERT INTO events VALUES ({writer}, {n}), ({writer}, {n})"))
            .collect::<Vec<_>>()
            .join(";\n")
    };
    let a = abacus(dir.path()).args(["-c", &script(1)]).spawn().unwrap();
    let b = abacus(dir.path()).args(["-c", &script(2)]).spawn().unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    for out in [&a, &b] {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Every commit landed: 2 writers × 10 inserts × 2 rows, 20 new versions, no duplicates.
    assert_eq!(count(dir.path(), "events"), 40);
    assert_eq!(history(dir.path(), "events").len(), 21);
    let per_writer = json_rows(
        dir.path(),
        "SELECT writer, count(DISTINCT n) AS distinct_n, count(*) AS rows FROM events GROUP BY writer ORDER BY writer",
    );
    assert_eq!(
        per_writer,
        vec![
            serde_json::json!({"writer": 1, "distinct_n": 10, "rows": 20}),
            serde_json::json!({"writer": 2, "distinct_n": 10, "rows": 20}),
        ]
    );
}

/// Parquet row group sizes of every data file of `table` under `data`.
fn row_groups(data: &Path, table: &str) -> Vec<i64> {
    use abacus_engine::datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
    let mut sizes = Vec::new();
    for entry in std::fs::read_dir(data.join("public").join(table)).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "parquet") {
            let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
            sizes.extend(reader.metadata().row_groups().iter().map(|g| g.num_rows()));
        }
    }
    sizes
}

#[test]
fn loads_write_row_groups_small_enough_to_split_over_cores() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("big.csv");
    write_big_csv(&csv, 300_000);
    let data = dir.path().join("data");
    sql_ok(
        &data,
        &format!(
            "CREATE TABLE big (id BIGINT, customer BIGINT, amount DOUBLE, note VARCHAR); \
             COPY big FROM '{}'; \
             CREATE TABLE small (id INT); INSERT INTO small VALUES (1), (2)",
            csv.display()
        ),
        "table",
    );
    let sizes = row_groups(&data, "big");
    assert_eq!(sizes.iter().sum::<i64>(), 300_000, "{sizes:?}");
    // Parquet's default would be one 300K-row group; scans split work by row group.
    assert!(sizes.len() >= 3, "{sizes:?}");
    assert!(sizes.iter().all(|&n| n <= 128 * 1024), "{sizes:?}");
    assert_eq!(row_groups(&data, "small"), vec![2]);
}
