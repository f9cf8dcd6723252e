//! Encryption at rest for secrets onramp must be able to read back (BGP MD5
//! keys, later CSP credentials): XChaCha20-Poly1305 with a key from the
//! environment. The random 24-byte nonce makes nonce reuse a non-issue.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit};

const PREFIX: &str = "v1:";
const NONCE_LEN: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the secret key must be 32 bytes, base64-encoded (got {0})")]
    BadKey(String),
    #[error("a stored secret cannot be decrypted: {0} (was the secret key changed?)")]
    Undecryptable(&'static str),
}

/// Seals and opens secrets. Cheap to clone.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Arc<XChaCha20Poly1305>,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(<key hidden>)")
    }
}

impl SecretBox {
    pub fn from_base64_key(key: &str) -> Result<Self, SecretError> {
        let bytes = B64
            .decode(key.trim())
            .map_err(|e| SecretError::BadKey(format!("not base64: {e}")))?;
        if bytes.len() != 32 {
            return Err(SecretError::BadKey(format!("{} bytes", bytes.len())));
        }
        let cipher = XChaCha20Poly1305::new_from_slice(&bytes)
            .map_err(|_| SecretError::BadKey("rejected by the cipher".into()))?;
        Ok(Self {
            cipher: Arc::new(cipher),
        })
    }

    /// A fresh random key, base64-encoded, for `ONRAMP_SECRET_KEY`.
    pub fn generate_base64_key() -> String {
        B64.encode(rand::random::<[u8; 32]>())
    }

    pub fn seal(&self, plaintext: &str) -> String {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let ct = self
            .cipher
            .encrypt(&nonce.into(), plaintext.as_bytes())
            .expect("XChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        format!("{PREFIX}{}", B64.encode(out))
    }

    pub fn open(&self, sealed: &str) -> Result<String, SecretError> {
        let body = sealed
            .strip_prefix(PREFIX)
            .ok_or(SecretError::Undecryptable("unknown format"))?;
        let raw = B64
            .decode(body)
            .map_err(|_| SecretError::Undecryptable("not base64"))?;
        if raw.len() <= NONCE_LEN {
            return Err(SecretError::Undecryptable("too short"));
        }
        let (nonce, ct) = raw.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().expect("split at NONCE_LEN");
        let pt = self
            .cipher
            .decrypt(&nonce.into(), ct)
            .map_err(|_| SecretError::Undecryptable("authentication failed"))?;
        String::from_utf8(pt).map_err(|_| SecretError::Undecryptable("not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper_detection() {
        let b = SecretBox::from_base64_key(&SecretBox::generate_base64_key()).unwrap();
        let s1 = b.seal("md5-secret");
        let s2 = b.seal("md5-secret");
        assert_ne!(s1, s2, "random nonce");
        assert!(!s1.contains("md5-secret"));
        assert_eq!(b.open(&s1).unwrap(), "md5-secret");
        let mut tampered = s1.clone();
        tampered.pop();
        tampered.push(if s1.ends_with('A') { 'B' } else { 'A' });
        assert!(b.open(&tampered).is_err());
        let other = SecretBox::from_base64_key(&SecretBox::generate_base64_key()).unwrap();
        assert!(matches!(
            other.open(&s1),
            Err(SecretError::Undecryptable(_))
        ));
    }

    #[test]
    fn bad_keys_are_refused() {
        assert!(SecretBox::from_base64_key("short").is_err());
        assert!(SecretBox::from_base64_key(&B64.encode([0u8; 16])).is_err());
    }
}
