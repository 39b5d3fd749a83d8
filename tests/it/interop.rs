//! Tables written by Abacus read back with another Delta reader: the Python `deltalake`
//! package, which the README's test command installs.

use std::process::Command;

use crate::common::sql_ok;

#[test]
fn python_deltalake_reads_an_abacus_table() {
    let dir = tempfile::tempdir().unwrap();
    sql_ok(
        dir.path(),
        "CREATE TABLE t (id BIGINT NOT NULL, name VARCHAR, amount DECIMAL(18,2), at TIMESTAMP, day DATE); \
         INSERT INTO t VALUES (1, 'a', 1.50, TIMESTAMP '2026-01-02 03:04:05', DATE '2026-01-02'); \
         INSERT INTO t VALUES (2, NULL, 2.25, NULL, NULL); \
         DELETE FROM t WHERE id = 1; INSERT INTO t VALUES (3, 'c', 3.00, NULL, NULL)",
        "table",
    );
    let script = r#"
import sys, deltalake
dt = deltalake.DeltaTable(sys.argv[1])
t = dt.to_pyarrow_table()
rows = sorted(t.to_pylist(), key=lambda r: r["id"])
# The files' codec (LZ4_RAW, which pyarrow calls LZ4), read by a plain Parquet reader.
import pyarrow.parquet as pq
codecs = {pq.ParquetFile(u.removeprefix("file://")).metadata.row_group(0).column(0).compression
          for u in dt.file_uris()}
print(dt.version(), [r["id"] for r in rows], [str(r["amount"]) for r in rows], rows[0]["name"], sorted(codecs), flush=True)
# deltalake 1.6's native runtime aborts during interpreter teardown ("terminate called
# without an active exception") after a successful read; skip the teardown.
import os; os._exit(0)
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(dir.path().join("public/t"))
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "the Python deltalake reader failed (the README's test command installs it: \
         pip install deltalake pyarrow): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "4 [2, 3] ['2.25', '3.00'] None ['LZ4']"
    );
}
