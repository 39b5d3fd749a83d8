//! Users of `abacus serve`: kept in `_catalog.json` as PostgreSQL-format SCRAM-SHA-256
//! verifiers (`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`), never passwords.
//!
//! The SCRAM maths lives here, not in pgwire: pgwire 0.41's SCRAM server needs the
//! SaltedPassword itself, which logs in as the user if stolen; StoredKey/ServerKey do not.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ring::{digest, hmac, pbkdf2, rand::SecureRandom};
use serde::{Deserialize, Serialize};

use crate::{Error, Result, ViewStore};

/// PostgreSQL's default `scram_iterations`.
const ITERATIONS: u32 = 4096;

/// One user as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    /// The SCRAM-SHA-256 verifier, as PostgreSQL stores it in `pg_authid.rolpassword`.
    pub verifier: String,
    /// May read but not change anything (42501 on DDL and DML).
    #[serde(default)]
    pub read_only: bool,
    /// May create, alter and drop users.
    #[serde(default)]
    pub admin: bool,
}

/// A parsed verifier: what the server needs to check a client proof.
#[derive(Debug, Clone)]
pub struct ScramVerifier {
    pub iterations: u32,
    pub salt: Vec<u8>,
    pub stored_key: Vec<u8>,
    pub server_key: Vec<u8>,
}

/// A new verifier for `password` with a fresh random salt.
pub fn make_verifier(password: &str) -> String {
    let mut salt = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut salt)
        .expect("the system random source works");
    ScramVerifier::derive(password, &salt, ITERATIONS).to_string()
}

impl ScramVerifier {
    /// StoredKey and ServerKey of `password` (RFC 5802 §3, RFC 7677), with SASLprep as
    /// PostgreSQL applies it (falling back to the raw bytes when preparation fails).
    pub fn derive(password: &str, salt: &[u8], iterations: u32) -> Self {
        let prepared = stringprep::saslprep(password)
            .map(|p| p.into_owned())
            .unwrap_or_else(|_| password.to_string());
        let mut salted = [0u8; 32];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            std::num::NonZeroU32::new(iterations.max(1)).expect("positive"),
            salt,
            prepared.as_bytes(),
            &mut salted,
        );
        let key = hmac::Key::new(hmac::HMAC_SHA256, &salted);
        let client_key = hmac::sign(&key, b"Client Key");
        let server_key = hmac::sign(&key, b"Server Key");
        Self {
            iterations,
            salt: salt.to_vec(),
            stored_key: digest::digest(&digest::SHA256, client_key.as_ref())
                .as_ref()
                .to_vec(),
            server_key: server_key.as_ref().to_vec(),
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.strip_prefix("SCRAM-SHA-256$")?;
        let (params, keys) = rest.split_once('$')?;
        let (iterations, salt) = params.split_once(':')?;
        let (stored, server) = keys.split_once(':')?;
        Some(Self {
            iterations: iterations.parse().ok()?,
            salt: STANDARD.decode(salt).ok()?,
            stored_key: STANDARD.decode(stored).ok()?,
            server_key: STANDARD.decode(server).ok()?,
        })
    }

    /// Checks a client proof over `auth_message`; on success returns the server signature
    /// the client verifies in turn.
    pub fn verify(&self, auth_message: &[u8], proof: &[u8]) -> Option<Vec<u8>> {
        let stored = hmac::Key::new(hmac::HMAC_SHA256, &self.stored_key);
        let signature = hmac::sign(&stored, auth_message);
        if proof.len() != signature.as_ref().len() {
            return None;
        }
        let client_key: Vec<u8> = proof
            .iter()
            .zip(signature.as_ref())
            .map(|(a, b)| a ^ b)
            .collect();
        let candidate = digest::digest(&digest::SHA256, &client_key);
        // Compared in constant time: the proof must not leak through timing.
        let difference = candidate
            .as_ref()
            .iter()
            .zip(&self.stored_key)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if difference != 0 || self.stored_key.len() != candidate.as_ref().len() {
            return None;
        }
        let server = hmac::Key::new(hmac::HMAC_SHA256, &self.server_key);
        Some(hmac::sign(&server, auth_message).as_ref().to_vec())
    }
}

impl std::fmt::Display for ScramVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SCRAM-SHA-256${}:{}${}:{}",
            self.iterations,
            STANDARD.encode(&self.salt),
            STANDARD.encode(&self.stored_key),
            STANDARD.encode(&self.server_key)
        )
    }
}

impl ViewStore {
    /// Every user, by name.
    pub fn users(&self) -> Result<BTreeMap<String, UserRecord>> {
        Ok(self.load()?.users)
    }

    pub fn user(&self, name: &str) -> Result<Option<UserRecord>> {
        Ok(self.load()?.users.remove(name))
    }

    /// Creates a user; fails when one of that name exists.
    pub fn create_user(&self, name: &str, record: UserRecord) -> Result<()> {
        self.modify(|file| {
            if file.users.contains_key(name) {
                return Err(Error::UserExists(name.to_string()));
            }
            file.users.insert(name.to_string(), record);
            Ok(())
        })
    }

    /// Changes an existing user with `change`.
    pub fn alter_user(&self, name: &str, change: impl FnOnce(&mut UserRecord)) -> Result<()> {
        self.modify(|file| {
            let record = file
                .users
                .get_mut(name)
                .ok_or_else(|| Error::UserNotFound(name.to_string()))?;
            change(record);
            Ok(())
        })
    }

    /// Returns whether the user existed.
    pub fn drop_user(&self, name: &str) -> Result<bool> {
        let mut existed = false;
        self.modify(|file| {
            existed = file.users.remove(name).is_some();
            Ok(())
        })?;
        Ok(existed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677 §3's example exchange (user "user", password "pencil").
    #[test]
    fn rfc7677_example_verifies() {
        let salt = STANDARD.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let v = ScramVerifier::derive("pencil", &salt, 4096);
        let auth = "n=user,r=rOprNGfwEbeRWgbNEkqO,\
                    r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
                    s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,\
                    c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        let proof = STANDARD
            .decode("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
            .unwrap();
        let server = v.verify(auth.as_bytes(), &proof).expect("proof accepted");
        assert_eq!(
            STANDARD.encode(server),
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
        let mut wrong = proof.clone();
        wrong[0] ^= 1;
        assert!(v.verify(auth.as_bytes(), &wrong).is_none());
        let text = v.to_string();
        assert_eq!(
            ScramVerifier::parse(&text).unwrap().stored_key,
            v.stored_key
        );
    }

    #[test]
    fn users_persist_beside_views() {
        let dir = tempfile::tempdir().unwrap();
        let store = ViewStore::new(dir.path().join("_catalog.json"));
        store.put("public", "v", "SELECT 1", false).unwrap();
        let record = UserRecord {
            verifier: make_verifier("secret"),
            read_only: true,
            admin: false,
        };
        store.create_user("ann", record.clone()).unwrap();
        assert!(store.create_user("ann", record).is_err());
        store.alter_user("ann", |r| r.read_only = false).unwrap();
        let reopened = ViewStore::new(dir.path().join("_catalog.json"));
        assert!(!reopened.user("ann").unwrap().unwrap().read_only);
        assert_eq!(
            reopened.get("public", "v").unwrap().as_deref(),
            Some("SELECT 1")
        );
        let text = std::fs::read_to_string(dir.path().join("_catalog.json")).unwrap();
        assert!(!text.contains("secret"));
        assert!(reopened.drop_user("ann").unwrap());
        assert!(!reopened.drop_user("ann").unwrap());
    }
}
