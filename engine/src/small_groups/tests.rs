//! Small-groups aggregates answer as DataFusion's own aggregate does, handing over to it.

use datafusion::prelude::SessionContext;

use crate::test_util::{query_text, session_after};

/// 50K rows in 7 batches of 8192: short strings with nulls, integers with nulls, dates, a
/// string that is longer than a view holds from row 30000 on, one-byte strings (one of
/// them empty) and one-byte strings that become two bytes long from row 40000 on.
const ROWS: &str = "SELECT value AS i, \
     CASE WHEN value % 11 = 0 THEN NULL ELSE chr(65 + CAST(value % 3 AS INT)) END AS s, \
     CASE WHEN value % 3 = 0 THEN 'treatment' ELSE 'control' END AS variant, \
     CASE WHEN value % 13 = 0 THEN NULL ELSE value % 5 END AS n, \
     CAST(DATE '2026-01-01' + CAST(value % 4 AS INT) AS DATE) AS d, \
     CASE WHEN value < 30000 THEN 'short' ELSE 'a string of more than twelve bytes' END AS late, \
     CASE value % 4 WHEN 0 THEN '' WHEN 1 THEN 'Y' WHEN 2 THEN 'N' END AS f, \
     CASE WHEN value < 40000 THEN chr(97 + CAST(value % 2 AS INT)) ELSE 'ab' END AS g \
     FROM range(0, 50000)";

/// The same answers from a table through Abacus and from the rows through bare DataFusion.
#[tokio::test]
async fn short_keys_group_as_datafusion_groups_them() {
    let create = format!("CREATE TABLE t AS {ROWS}");
    let (_dir, _db, session) = session_after(&[&create]).await;
    let plain = SessionContext::new();
    let queries = [
        // Few groups, nulls in both keys, a FILTER clause.
        "SELECT s, n, count(*) AS c, sum(i) AS x, min(i) AS lo, \
         count(*) FILTER (WHERE i % 2 = 0) AS even FROM t GROUP BY s, n ORDER BY s, n",
        "SELECT variant, d, count(*) AS c, max(s) AS m FROM t GROUP BY variant, d \
         ORDER BY variant, d",
        "SELECT s, count(n) AS c FROM t GROUP BY s ORDER BY s",
        // One-byte strings, by their bytes; then, from row 40000, by their hash.
        "SELECT s, f, count(*) AS c, sum(i) AS x FROM t GROUP BY s, f ORDER BY s, f",
        "SELECT f, g, count(*) AS c, sum(i) AS x FROM t GROUP BY f, g ORDER BY f, g",
        // Keys that stop fitting after 30000 rows: the rest goes to DataFusion's aggregate.
        "SELECT late, s, count(*) AS c, sum(i) AS x FROM t GROUP BY late, s ORDER BY late, s",
        // More groups than MAX_GROUPS.
        "SELECT count(*) AS groups, sum(c) AS c, sum(x) AS x FROM \
         (SELECT s, i, count(*) AS c, sum(n) AS x FROM t GROUP BY s, i) g",
    ];
    for sql in queries {
        let ours = query_text(&session, sql).await;
        let theirs = plain
            .sql(&sql.replace(" FROM t ", &format!(" FROM ({ROWS}) t ")))
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let theirs = datafusion::arrow::util::pretty::pretty_format_batches(&theirs)
            .unwrap()
            .to_string();
        assert_eq!(ours, theirs, "{sql}");
    }
    let plan = query_text(&session, &format!("EXPLAIN {}", queries[0])).await;
    assert!(
        plan.contains("SmallGroupsAggregateExec: mode=Partial, gby=[s@"),
        "{plan}"
    );
    // EXPLAIN ANALYZE counts the node's output like any other's.
    let analyzed = query_text(&session, &format!("EXPLAIN ANALYZE {}", queries[0])).await;
    let line = analyzed
        .lines()
        .find(|l| l.contains("SmallGroupsAggregateExec"))
        .unwrap_or_else(|| panic!("{analyzed}"));
    assert!(
        line.contains("output_rows=") && !line.contains("output_batches=0,"),
        "{line}"
    );
}
