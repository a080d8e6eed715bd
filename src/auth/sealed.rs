//! Secrets kept at rest that must be read back (an invitation token until
//! its email goes out): XChaCha20-Poly1305 keyed by `ATELYA_SECRET_KEY`.
//!
//! A sealed value is one key-version byte, a random 24-byte nonce, then the
//! ciphertext with its tag. The caller's associated data (the row's id) is
//! authenticated too, so a sealed value copied into another row does not
//! open. The version byte lets a later key open what an earlier one sealed.

use chacha20poly1305::{
    aead::{Aead, KeyInit, OsRng, Payload},
    AeadCore, XChaCha20Poly1305,
};
use sha2::{Digest, Sha256};

use crate::error::{AppError, AppResult};

/// The version byte of values sealed with the configured key.
const KEY_VERSION: u8 = 1;
const NONCE_LEN: usize = 24;

pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl Sealer {
    /// A sealer for the 64-hex-character `ATELYA_SECRET_KEY`; without one
    /// (development only, the configuration refuses it in production) a
    /// fixed development key that protects nothing.
    pub fn new(secret_key_hex: Option<&str>) -> AppResult<Sealer> {
        let key: [u8; 32] = match secret_key_hex {
            Some(hex_key) => hex::decode(hex_key)
                .ok()
                .and_then(|bytes| bytes.try_into().ok())
                .ok_or_else(|| {
                    AppError::Internal("ATELYA_SECRET_KEY is not 64 hex characters".into())
                })?,
            None => Sha256::digest(b"atelya development key: protects nothing").into(),
        };
        Ok(Sealer {
            cipher: XChaCha20Poly1305::new(&key.into()),
        })
    }

    pub fn seal(&self, associated: &[u8], secret: &[u8]) -> AppResult<Vec<u8>> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: secret,
                    aad: associated,
                },
            )
            .map_err(|_| AppError::Internal("sealing failed".into()))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(KEY_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    pub fn open(&self, associated: &[u8], sealed: &[u8]) -> AppResult<Vec<u8>> {
        let unreadable =
            || AppError::Internal("a sealed secret does not open with this key".into());
        let (&version, rest) = sealed.split_first().ok_or_else(unreadable)?;
        if version != KEY_VERSION || rest.len() < NONCE_LEN {
            return Err(unreadable());
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                nonce.into(),
                Payload {
                    msg: ciphertext,
                    aad: associated,
                },
            )
            .map_err(|_| unreadable())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_its_row() {
        let sealer = Sealer::new(Some(KEY)).unwrap();
        let sealed = sealer.seal(b"row-1", b"the token").unwrap();
        assert_eq!(sealed[0], KEY_VERSION);
        assert!(!sealed.windows(9).any(|w| w == b"the token"));
        assert_eq!(sealer.open(b"row-1", &sealed).unwrap(), b"the token");
        assert!(sealer.open(b"row-2", &sealed).is_err(), "another row's id");
        assert!(
            Sealer::new(None).unwrap().open(b"row-1", &sealed).is_err(),
            "another key"
        );
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(sealer.open(b"row-1", &tampered).is_err());
        assert_ne!(
            sealer.seal(b"row-1", b"the token").unwrap(),
            sealed,
            "a fresh nonce each time"
        );
    }
}
