//! Views (and users, see `users.rs`) persist in `_catalog.json`, replaced atomically
//! (write, fsync, rename).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// On-disk form of the catalog file. Unknown fields are kept so that newer Abacus
/// versions (users, grants) can share the file with this one.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct CatalogFile {
    /// `schema -> view name -> query text`.
    #[serde(default)]
    views: BTreeMap<String, BTreeMap<String, String>>,
    /// `user name -> record` (salted SCRAM verifiers, never passwords).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) users: BTreeMap<String, crate::users::UserRecord>,
    #[serde(flatten)]
    other: BTreeMap<String, serde_json::Value>,
}

/// The views of every schema. Reads go to disk each time so that a second process
/// that creates a view is seen without a restart.
#[derive(Debug)]
pub struct ViewStore {
    path: PathBuf,
    /// Serialises read-modify-write cycles within this process.
    write_lock: Mutex<()>,
}

impl ViewStore {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            write_lock: Mutex::new(()),
        }
    }

    pub(crate) fn load(&self) -> Result<CatalogFile> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::CorruptCatalogFile {
                path: self.path.display().to_string(),
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(CatalogFile::default()),
            Err(e) => Err(Error::io(&self.path, e)),
        }
    }

    pub fn names(&self, schema: &str) -> Result<Vec<String>> {
        Ok(self
            .load()?
            .views
            .get(schema)
            .map(|v| v.keys().cloned().collect())
            .unwrap_or_default())
    }

    pub fn get(&self, schema: &str, name: &str) -> Result<Option<String>> {
        Ok(self
            .load()?
            .views
            .get(schema)
            .and_then(|v| v.get(name).cloned()))
    }

    pub fn put(&self, schema: &str, name: &str, sql: &str, or_replace: bool) -> Result<()> {
        self.modify(|file| {
            let views = file.views.entry(schema.to_string()).or_default();
            if views.contains_key(name) && !or_replace {
                return Err(Error::ViewExists(format!("{schema}.{name}")));
            }
            views.insert(name.to_string(), sql.to_string());
            Ok(())
        })
    }

    /// Returns whether the view existed.
    pub fn remove(&self, schema: &str, name: &str) -> Result<bool> {
        let mut existed = false;
        self.modify(|file| {
            if let Some(views) = file.views.get_mut(schema) {
                existed = views.remove(name).is_some();
                if views.is_empty() {
                    file.views.remove(schema);
                }
            }
            Ok(())
        })?;
        Ok(existed)
    }

    pub(crate) fn modify(&self, change: impl FnOnce(&mut CatalogFile) -> Result<()>) -> Result<()> {
        let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut file = self.load()?;
        change(&mut file)?;
        let bytes = serde_json::to_vec_pretty(&file).expect("catalog file serialises");
        write_atomically(&self.path, &bytes)
    }
}

/// Readers see the old file or the new one, never a torn write, even after a crash.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("json.tmp{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_survive_reopen_and_keep_unknown_fields() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("_catalog.json");
        std::fs::write(&path, r#"{"grants": {"alice": "x"}}"#).unwrap();
        let store = ViewStore::new(path.clone());
        store.put("public", "v", "SELECT 1", false).unwrap();
        assert!(store.put("public", "v", "SELECT 2", false).is_err());
        store.put("public", "v", "SELECT 2", true).unwrap();
        let reopened = ViewStore::new(path.clone());
        assert_eq!(
            reopened.get("public", "v").unwrap().as_deref(),
            Some("SELECT 2")
        );
        assert!(std::fs::read_to_string(&path).unwrap().contains("alice"));
        assert!(reopened.remove("public", "v").unwrap());
        assert!(!reopened.remove("public", "v").unwrap());
    }
}
