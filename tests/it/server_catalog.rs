//! psql's meta-commands over `abacus serve`: they run psql 15's own catalog queries against
//! pg_catalog and must list what the data directory holds.

use crate::server::Server;

fn ok(out: std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn psql_meta_commands_describe_the_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    ok(server.psql(
        "abacus",
        "CREATE SCHEMA sales; \
         CREATE TABLE sales.orders (id BIGINT NOT NULL, customer VARCHAR, amount DECIMAL(18,2), at TIMESTAMP); \
         CREATE TABLE metrics (ts TIMESTAMP, name TEXT, value DOUBLE); \
         CREATE VIEW big AS SELECT * FROM sales.orders WHERE amount > 100",
    ));

    // \dt lists what the search path shows; other schemas by pattern.
    let tables = ok(server.psql("abacus", "\\dt"));
    assert!(
        tables.contains("public | metrics | table"),
        "\\dt: {tables}"
    );
    assert!(
        !tables.contains("orders"),
        "\\dt shows only visible tables: {tables}"
    );
    let tables = ok(server.psql("abacus", "\\dt sales.*"));
    assert!(
        tables.contains("sales  | orders | table"),
        "\\dt sales.*: {tables}"
    );
    let views = ok(server.psql("abacus", "\\dv"));
    assert!(
        views.contains("big") && views.contains("view"),
        "\\dv: {views}"
    );

    let described = ok(server.psql("abacus", "\\d sales.orders"));
    for expected in [
        "Table \"sales.orders\"",
        "id       | bigint",
        "not null",
        "customer | text",
        "amount   | numeric",
        "at       | timestamp without time zone",
    ] {
        assert!(described.contains(expected), "\\d: {described}");
    }
    let described = ok(server.psql("abacus", "\\d big"));
    assert!(
        described.contains("View \"public.big\""),
        "\\d view: {described}"
    );

    let roles = ok(server.psql("abacus", "\\du"));
    assert!(roles.contains("abacus"), "\\du: {roles}");

    let schemas = ok(server.psql("abacus", "\\dn"));
    assert!(
        schemas.contains("sales") && schemas.contains("public"),
        "\\dn: {schemas}"
    );
    assert!(
        !schemas.contains("pg_catalog"),
        "\\dn hides system schemas: {schemas}"
    );

    let databases = ok(server.psql("abacus", "\\l"));
    assert!(databases.contains("abacus"), "\\l: {databases}");

    // Catalog functions answer from the real catalog.
    let visible = ok(server.psql(
        "abacus",
        "SELECT c.relname FROM pg_catalog.pg_class c WHERE pg_catalog.pg_table_is_visible(c.oid) \
         AND c.relkind = 'r' ORDER BY 1",
    ));
    assert!(
        visible.contains("metrics") && !visible.contains("orders"),
        "{visible}"
    );

    // regclass and regnamespace print names (qualified off the search path), also in ORDER
    // BY beside a result column of the same name; filters keep comparing oids.
    let names = ok(server.psql(
        "abacus",
        "SELECT c.oid::pg_catalog.regclass, c.relnamespace::regnamespace::text AS nsp \
         FROM pg_catalog.pg_class c WHERE c.relkind = 'r' AND c.oid = 'sales.orders'::regclass \
            OR c.oid = 'metrics'::regclass ORDER BY c.oid::regclass::text",
    ));
    let lines: Vec<&str> = names.lines().map(str::trim).collect();
    assert!(
        lines.contains(&"metrics      | public") && lines.contains(&"sales.orders | sales"),
        "{names}"
    );
    server.stop();
}

/// Pooled clients (Metabase, Grafana) find an oid on one connection and use it on another:
/// every session must number the same catalog alike, whichever catalog table it reads first.
#[test]
fn relation_oids_agree_across_connections() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    ok(server.psql(
        "abacus",
        "CREATE SCHEMA a; CREATE TABLE a.one (x INT); CREATE TABLE two (y INT, z INT)",
    ));
    // The one value of a one-row psql answer (header, rule, value, row count).
    let value = |sql: &str| {
        let out = ok(server.psql("abacus", sql));
        out.lines().nth(2).unwrap_or_default().trim().to_string()
    };
    let by_attribute = value("SELECT attrelid FROM pg_catalog.pg_attribute WHERE attname = 'z'");
    let by_class = value("SELECT oid FROM pg_catalog.pg_class WHERE relname = 'two'");
    let by_namespace = value(
        "SELECT c.oid FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_class c \
         ON c.relnamespace = n.oid WHERE n.nspname = 'public' AND c.relname = 'two'",
    );
    assert!(
        by_class.parse::<u32>().is_ok(),
        "pg_class has `two`: {by_class}"
    );
    assert_eq!(by_attribute, by_class);
    assert_eq!(by_namespace, by_class);
    server.stop();
}
