//! Helpers for the engine's unit tests.

/// The rows `sql` returns, as an aligned text table (EXPLAIN plans included).
pub(crate) async fn query_text(session: &crate::Session, sql: &str) -> String {
    let crate::Output::Rows(rows) = session.execute_one(sql).await.unwrap() else {
        panic!("rows expected from {sql}");
    };
    let batches: Vec<_> = futures::TryStreamExt::try_collect(rows).await.unwrap();
    datafusion::arrow::util::pretty::pretty_format_batches(&batches)
        .unwrap()
        .to_string()
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
