//! Where things live in the data directory: `<root>/<schema>/<table>/_delta_log`, `<root>/_catalog.json`.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The schema unqualified names resolve to.
pub const DEFAULT_SCHEMA: &str = "public";

/// Folder names starting with this are Abacus's own, never a schema.
const RESERVED_PREFIX: char = '_';

/// The data directory's layout; the only place that turns names into paths.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

/// Names become folder names, so they must not be able to climb out of the data directory
/// or collide with our own files. `@` is reserved for versioned references (`t@v3`).
pub fn validate_name(name: &str) -> Result<()> {
    let bad = |why| Err(Error::InvalidName(name.to_string(), why));
    if name.is_empty() {
        return bad("names must not be empty");
    }
    if name.len() > 128 {
        return bad("names are at most 128 bytes");
    }
    if name.starts_with(RESERVED_PREFIX) || name.starts_with('.') {
        return bad("names must not start with '_' or '.'");
    }
    if name
        .chars()
        .any(|c| matches!(c, '/' | '\\' | '@' | '\0' | ':') || c.is_control())
    {
        return bad("names must not contain '/', '\\', '@', ':' or control characters");
    }
    Ok(())
}

impl DataDir {
    /// Creates the directory and the default schema when missing.
    pub fn create(root: impl Into<PathBuf>) -> Result<Self> {
        let root: PathBuf = root.into();
        let root = if root.is_absolute() {
            root
        } else {
            std::env::current_dir()
                .map_err(|e| Error::io(&root, e))?
                .join(root)
        };
        let public = root.join(DEFAULT_SCHEMA);
        std::fs::create_dir_all(&public).map_err(|e| Error::io(&public, e))?;
        Ok(Self { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn schema_path(&self, schema: &str) -> PathBuf {
        self.root.join(schema)
    }

    pub fn table_path(&self, schema: &str, table: &str) -> PathBuf {
        self.root.join(schema).join(table)
    }

    pub fn catalog_file(&self) -> PathBuf {
        self.root.join("_catalog.json")
    }

    pub fn schema_exists(&self, schema: &str) -> bool {
        validate_name(schema).is_ok() && self.schema_path(schema).is_dir()
    }

    pub fn table_exists(&self, schema: &str, table: &str) -> bool {
        validate_name(table).is_ok() && self.table_path(schema, table).join("_delta_log").is_dir()
    }

    /// Schemas are the non-reserved folders of the root.
    pub fn schema_names(&self) -> Vec<String> {
        list_dirs(&self.root, |_| true)
    }

    /// Tables are the folders of a schema that hold a Delta log.
    pub fn table_names(&self, schema: &str) -> Vec<String> {
        if !self.schema_exists(schema) {
            return Vec::new();
        }
        list_dirs(&self.schema_path(schema), |p| p.join("_delta_log").is_dir())
    }
}

fn list_dirs(dir: &Path, keep: impl Fn(&Path) -> bool) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir() && keep(&e.path()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| validate_name(n).is_ok())
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_escape_the_data_directory() {
        for bad in ["", "..", "../x", "a/b", "_catalog", ".hidden", "t@v3"] {
            assert!(validate_name(bad).is_err(), "{bad} should be rejected");
        }
        for good in ["t", "orders_2024", "Заказы"] {
            assert!(validate_name(good).is_ok(), "{good} should be accepted");
        }
    }
}
