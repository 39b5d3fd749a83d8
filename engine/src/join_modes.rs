//! Which hash joins build one shared hash table instead of repartitioning both sides.

use datafusion::prelude::SessionConfig;

/// A hash join whose build side holds up to 32M rows (2 GiB) divided by the number of
/// partitions builds one hash table that every probe partition reads (`CollectLeft`), instead
/// of hash-repartitioning both sides (DataFusion's default stops at 128K rows, 1 MB). The
/// probe side, mostly the larger (lineitem), is then not repartitioned at all: measured with
/// 2 threads, TPC-H SF1 0.92× and SF10 0.88× in total, q20 0.65×, q17 0.6–0.76×, q7 and q5
/// 0.7–0.85× (BENCHMARKS.md, change 6). The one hash table is built by one thread, which is
/// why the limit shrinks as threads grow. `SET datafusion.optimizer.…` still overrides it.
pub(crate) fn broadcast_larger_build_sides(config: &mut SessionConfig, threads: usize) {
    let threads = threads.max(1);
    let optimizer = &mut config.options_mut().optimizer;
    optimizer.hash_join_single_partition_threshold_rows = (32 << 20) / threads;
    optimizer.hash_join_single_partition_threshold = (2 << 30) / threads;
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_join_with_a_200k_row_build_side_does_not_repartition_its_probe_side() {
        let dir = tempfile::tempdir().unwrap();
        let config = crate::Config {
            threads: Some(2),
            ..Default::default()
        };
        let db = crate::Database::open(dir.path(), config).unwrap();
        let session = db.session();
        for sql in [
            "CREATE TABLE facts AS SELECT value % 200000 AS k, value AS v FROM range(1000000)",
            "CREATE TABLE dims AS SELECT value AS k, value % 10 AS g FROM range(200000)",
        ] {
            session.execute_one(sql).await.unwrap();
        }
        let sql = "SELECT g, count(*) FROM facts JOIN dims ON facts.k = dims.k GROUP BY g";
        let session = &session;
        let text =
            move |sql: String| async move { crate::test_util::query_text(session, &sql).await };
        // Two threads: three partitions (session.rs), and the build limit of two threads.
        let shown = text("SHOW datafusion.execution.target_partitions".into()).await;
        assert!(shown.contains("| 3 "), "{shown}");
        let shown =
            text("SHOW datafusion.optimizer.hash_join_single_partition_threshold_rows".into())
                .await;
        assert!(shown.contains("| 16777216 "), "{shown}");
        let plan = text(format!("EXPLAIN {sql}")).await;
        assert!(plan.contains("HashJoinExec: mode=CollectLeft"), "{plan}");
        assert!(!plan.contains("partitioning=Hash([k@"), "{plan}");
        let answer = text(format!("{sql} ORDER BY g LIMIT 1")).await;
        assert!(answer.contains("| 0 | 100000   |"), "{answer}");
    }
}
