//! The server side of SCRAM-SHA-256 (RFC 5802/7677) against stored verifiers.
//!
//! Ours rather than pgwire's `SASLAuthStartupHandler`: that one wants the SaltedPassword
//! from its auth source, and we store only StoredKey/ServerKey, as PostgreSQL does.

use abacus_catalog::ScramVerifier;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ring::rand::SecureRandom;

pub const MECHANISM: &str = "SCRAM-SHA-256";

/// After the server-first message: what the client-final message is checked against.
#[derive(Debug)]
pub struct Pending {
    verifier: ScramVerifier,
    /// The user is unknown: the exchange runs to the end on a made-up verifier (so that
    /// a client cannot tell unknown users from wrong passwords), then fails.
    doomed: bool,
    gs2_header: String,
    client_first_bare: String,
    server_first: String,
    nonce: String,
}

/// Why an exchange failed; every case ends in 28P01 or 08P01 for the client.
#[derive(Debug)]
pub enum Failure {
    /// The client broke the protocol.
    Protocol(String),
    /// Wrong password (or unknown user).
    Rejected,
}

fn protocol(message: &str) -> Failure {
    Failure::Protocol(format!("malformed SCRAM message: {message}"))
}

/// Handles the client-first message; returns the server-first message to send.
pub fn server_first(
    client_first: &[u8],
    verifier: Option<ScramVerifier>,
) -> Result<(String, Pending), Failure> {
    let text = std::str::from_utf8(client_first).map_err(|_| protocol("not UTF-8"))?;
    // gs2-header: "n,," or "y,," (we offer no channel binding), optional authzid.
    let mut parts = text.splitn(3, ',');
    let flag = parts.next().ok_or_else(|| protocol("no GS2 header"))?;
    let authzid = parts.next().ok_or_else(|| protocol("no GS2 header"))?;
    let bare = parts
        .next()
        .ok_or_else(|| protocol("no client-first-bare"))?;
    if flag.starts_with("p=") {
        return Err(Failure::Protocol(
            "channel binding was requested but the server does not offer SCRAM-SHA-256-PLUS".into(),
        ));
    }
    if flag != "n" && flag != "y" {
        return Err(protocol("bad GS2 flag"));
    }
    let client_nonce = bare
        .split(',')
        .find_map(|a| a.strip_prefix("r="))
        .filter(|n| !n.is_empty())
        .ok_or_else(|| protocol("no client nonce"))?;
    let mut random = [0u8; 18];
    ring::rand::SystemRandom::new()
        .fill(&mut random)
        .map_err(|_| Failure::Protocol("no random source".into()))?;
    let nonce = format!("{client_nonce}{}", STANDARD.encode(random));
    let doomed = verifier.is_none();
    let verifier = verifier.unwrap_or_else(|| {
        // A verifier nobody knows the password of.
        let mut password = [0u8; 32];
        let _ = ring::rand::SystemRandom::new().fill(&mut password);
        ScramVerifier::derive(&STANDARD.encode(password), &random, 4096)
    });
    let server_first = format!(
        "r={nonce},s={},i={}",
        STANDARD.encode(&verifier.salt),
        verifier.iterations
    );
    Ok((
        server_first.clone(),
        Pending {
            verifier,
            doomed,
            gs2_header: format!("{flag},{authzid},"),
            client_first_bare: bare.to_string(),
            server_first,
            nonce,
        },
    ))
}

impl Pending {
    /// Handles the client-final message; returns the server-final message to send.
    pub fn server_final(&self, client_final: &[u8]) -> Result<String, Failure> {
        let text = std::str::from_utf8(client_final).map_err(|_| protocol("not UTF-8"))?;
        let (without_proof, proof) = text
            .rsplit_once(",p=")
            .ok_or_else(|| protocol("no proof"))?;
        let mut binding = None;
        let mut nonce = None;
        for attribute in without_proof.split(',') {
            if let Some(c) = attribute.strip_prefix("c=") {
                binding = Some(c);
            } else if let Some(r) = attribute.strip_prefix("r=") {
                nonce = Some(r);
            }
        }
        if binding != Some(STANDARD.encode(&self.gs2_header).as_str()) {
            return Err(protocol("channel binding does not match the GS2 header"));
        }
        if nonce != Some(self.nonce.as_str()) {
            return Err(protocol("nonce does not match"));
        }
        let proof = STANDARD
            .decode(proof)
            .map_err(|_| protocol("proof is not base64"))?;
        let auth_message = format!(
            "{},{},{without_proof}",
            self.client_first_bare, self.server_first
        );
        match self.verifier.verify(auth_message.as_bytes(), &proof) {
            Some(signature) if !self.doomed => Ok(format!("v={}", STANDARD.encode(signature))),
            _ => Err(Failure::Rejected),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::{digest, hmac};

    /// A client's side of the exchange, as libpq computes it.
    fn client_final(password: &str, server_first: &str, client_first_bare: &str) -> String {
        let mut salt = None;
        let mut iterations = 0;
        let mut nonce = "";
        for a in server_first.split(',') {
            if let Some(s) = a.strip_prefix("s=") {
                salt = Some(STANDARD.decode(s).unwrap());
            } else if let Some(i) = a.strip_prefix("i=") {
                iterations = i.parse().unwrap();
            } else if let Some(r) = a.strip_prefix("r=") {
                nonce = r;
            }
        }
        let v = ScramVerifier::derive(password, &salt.unwrap(), iterations);
        let without_proof = format!("c=biws,r={nonce}");
        let auth = format!("{client_first_bare},{server_first},{without_proof}");
        // ClientKey = StoredKey preimage: recompute it from the password for the test.
        let mut salted = [0u8; 32];
        ring::pbkdf2::derive(
            ring::pbkdf2::PBKDF2_HMAC_SHA256,
            std::num::NonZeroU32::new(iterations).unwrap(),
            &v.salt,
            password.as_bytes(),
            &mut salted,
        );
        let key = hmac::Key::new(hmac::HMAC_SHA256, &salted);
        let client_key = hmac::sign(&key, b"Client Key");
        let stored = digest::digest(&digest::SHA256, client_key.as_ref());
        let signature = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, stored.as_ref()),
            auth.as_bytes(),
        );
        let proof: Vec<u8> = client_key
            .as_ref()
            .iter()
            .zip(signature.as_ref())
            .map(|(a, b)| a ^ b)
            .collect();
        format!("{without_proof},p={}", STANDARD.encode(proof))
    }

    #[test]
    fn right_password_passes_wrong_one_and_unknown_user_fail() {
        let stored = ScramVerifier::parse(&abacus_catalog::make_verifier("s3cret")).unwrap();
        let bare = "n=,r=abcdefgh";
        let (first, pending) =
            server_first(format!("n,,{bare}").as_bytes(), Some(stored.clone())).unwrap();
        let ok = pending.server_final(client_final("s3cret", &first, bare).as_bytes());
        assert!(ok.unwrap().starts_with("v="));
        let (first, pending) = server_first(format!("n,,{bare}").as_bytes(), Some(stored)).unwrap();
        let bad = pending.server_final(client_final("guess", &first, bare).as_bytes());
        assert!(matches!(bad, Err(Failure::Rejected)));
        let (first, pending) = server_first(format!("n,,{bare}").as_bytes(), None).unwrap();
        let unknown = pending.server_final(client_final("guess", &first, bare).as_bytes());
        assert!(matches!(unknown, Err(Failure::Rejected)));
        assert!(matches!(
            server_first(b"p=tls-server-end-point,,n=,r=x", None),
            Err(Failure::Protocol(_))
        ));
    }
}
