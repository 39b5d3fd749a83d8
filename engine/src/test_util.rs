//! Helpers for the engine's unit tests.

/// The rows `sql` returns, as an aligned text table (EXPLAIN plans included).
pub(crate) async fn query_text(session: &crate::Session, sql: &str) -> String {
    let batch = query_batch(session, sql).await;
    datafusion::arrow::util::pretty::pretty_format_batches(&[batch])
        .unwrap()
        .to_string()
}

/// The rows `sql` returns, in one batch.
pub(crate) async fn query_batch(
    session: &crate::Session,
    sql: &str,
) -> datafusion::arrow::record_batch::RecordBatch {
    let crate::Output::Rows(rows) = session.execute_one(sql).await.unwrap() else {
        panic!("rows expected from {sql}");
    };
    let schema = rows.schema();
    let batches: Vec<_> = futures::TryStreamExt::try_collect(rows).await.unwrap();
    datafusion::arrow::compute::concat_batches(&schema, &batches).unwrap()
}

/// A database on a fresh temporary data directory (kept alive by the returned guard).
pub(crate) fn database() -> (tempfile::TempDir, crate::Database) {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::Database::open(dir.path(), crate::Config::default()).unwrap();
    (dir, db)
}

/// A session of a fresh database, after `statements`.
pub(crate) async fn session_after(
    statements: &[&str],
) -> (tempfile::TempDir, crate::Database, crate::Session) {
    let (dir, db) = database();
    let session = db.session();
    for sql in statements {
        session.execute_one(sql).await.unwrap();
    }
    (dir, db, session)
}
