//! docs/functions.md is generated from the functions' documentation and must stay in sync.
//! Regenerate with `ABACUS_WRITE_DOCS=1 cargo test --test it docs`.

#[test]
fn functions_md_is_up_to_date() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/functions.md");
    let generated = abacus_udfs::docs::markdown();
    if std::env::var_os("ABACUS_WRITE_DOCS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == generated,
        "docs/functions.md is stale: run ABACUS_WRITE_DOCS=1 cargo test --test it docs"
    );
    for f in abacus_udfs::aggregate_functions() {
        assert!(generated.contains(&format!("## {}\n", f.name())));
    }
}
