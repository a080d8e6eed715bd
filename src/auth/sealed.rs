//! Secrets kept at rest that must be read back (an invitation token until
//! its email goes out, integrations' OAuth tokens, webhook signing secrets;
//! `reseal::SEALED_COLUMNS` lists every column): XChaCha20-Poly1305 keyed
//! by `ATELYA_SECRET_KEY`.
//!
//! A sealed value is one key-version byte, a random 24-byte nonce, then the
//! ciphertext with its tag. The caller's associated data (the row's id) is
//! authenticated too, so a sealed value copied into another row does not
//! open. The version byte names the key that sealed it: to rotate, give the
//! new key a new `ATELYA_SECRET_KEY_VERSION` and keep the old one in
//! `ATELYA_SECRET_KEY_PREVIOUS` (`version:hex`, comma-separated) while values
//! sealed with it remain; new values are always sealed with the current key.

use chacha20poly1305::{
    aead::{Aead, KeyInit, OsRng, Payload},
    AeadCore, XChaCha20Poly1305,
};
use sha2::{Digest, Sha256};

use crate::error::{AppError, AppResult};

const NONCE_LEN: usize = 24;

pub struct Sealer {
    /// The key new values are sealed with, and its version.
    current: (u8, XChaCha20Poly1305),
    /// Earlier keys, which only open.
    previous: Vec<(u8, XChaCha20Poly1305)>,
}

impl Sealer {
    /// A sealer for the 64-hex-character `ATELYA_SECRET_KEY` as version 1;
    /// without one (development only, the configuration refuses it in
    /// production) a fixed development key that protects nothing.
    pub fn new(secret_key_hex: Option<&str>) -> AppResult<Sealer> {
        Sealer::versioned(secret_key_hex, 1, None)
    }

    /// The current key as `version`, and the earlier keys of `previous`
    /// (`version:hex`, comma-separated).
    pub fn versioned(
        secret_key_hex: Option<&str>,
        version: u8,
        previous: Option<&str>,
    ) -> AppResult<Sealer> {
        let key = match secret_key_hex {
            Some(hex_key) => cipher(hex_key, "ATELYA_SECRET_KEY")?,
            None => {
                XChaCha20Poly1305::new(&Sha256::digest(b"atelya development key: protects nothing"))
            }
        };
        let mut earlier = Vec::new();
        for entry in previous
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let bad = || {
                AppError::Internal(
                    "ATELYA_SECRET_KEY_PREVIOUS entries are version:hex (64 hex characters)".into(),
                )
            };
            let (v, hex_key) = entry.split_once(':').ok_or_else(bad)?;
            let v: u8 = v.trim().parse().map_err(|_| bad())?;
            if v == version || earlier.iter().any(|(e, _)| *e == v) {
                return Err(AppError::Internal(format!(
                    "key version {v} is given twice in ATELYA_SECRET_KEY_VERSION and ATELYA_SECRET_KEY_PREVIOUS"
                )));
            }
            earlier.push((v, cipher(hex_key.trim(), "ATELYA_SECRET_KEY_PREVIOUS")?));
        }
        Ok(Sealer {
            current: (version, key),
            previous: earlier,
        })
    }

    pub fn seal(&self, associated: &[u8], secret: &[u8]) -> AppResult<Vec<u8>> {
        let (version, cipher) = &self.current;
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: secret,
                    aad: associated,
                },
            )
            .map_err(|_| AppError::Internal("sealing failed".into()))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(*version);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    pub fn open(&self, associated: &[u8], sealed: &[u8]) -> AppResult<Vec<u8>> {
        let unreadable =
            || AppError::Internal("a sealed secret does not open with the configured keys".into());
        let (&version, rest) = sealed.split_first().ok_or_else(unreadable)?;
        let cipher = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|(v, _)| *v == version)
            .map(|(_, c)| c)
            .ok_or_else(unreadable)?;
        if rest.len() < NONCE_LEN {
            return Err(unreadable());
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        cipher
            .decrypt(
                nonce.into(),
                Payload {
                    msg: ciphertext,
                    aad: associated,
                },
            )
            .map_err(|_| unreadable())
    }

    /// Whether `sealed` was sealed with an earlier key (and is worth sealing again).
    pub fn is_stale(&self, sealed: &[u8]) -> bool {
        sealed.first() != Some(&self.current.0)
    }
}

fn cipher(hex_key: &str, setting: &str) -> AppResult<XChaCha20Poly1305> {
    let key: [u8; 32] = hex::decode(hex_key)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| {
            AppError::Internal(format!(
                "{setting} holds a key that is not 64 hex characters"
            ))
        })?;
    Ok(XChaCha20Poly1305::new(&key.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_its_row() {
        let sealer = Sealer::new(Some(KEY)).unwrap();
        let sealed = sealer.seal(b"row-1", b"the token").unwrap();
        assert_eq!(sealed[0], 1);
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

    const NEW_KEY: &str = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";

    #[test]
    fn after_a_rotation_old_values_open_with_the_previous_key_and_new_ones_use_the_new() {
        let old = Sealer::new(Some(KEY)).unwrap();
        let sealed_before = old.seal(b"row-1", b"old token").unwrap();
        let rotated = Sealer::versioned(Some(NEW_KEY), 2, Some(&format!("1:{KEY}"))).unwrap();

        assert_eq!(
            rotated.open(b"row-1", &sealed_before).unwrap(),
            b"old token"
        );
        assert!(rotated.is_stale(&sealed_before));
        let sealed_after = rotated.seal(b"row-1", b"new token").unwrap();
        assert_eq!(sealed_after[0], 2);
        assert!(!rotated.is_stale(&sealed_after));
        assert!(
            old.open(b"row-1", &sealed_after).is_err(),
            "the old key cannot read new values"
        );
        let without_previous = Sealer::versioned(Some(NEW_KEY), 2, None).unwrap();
        assert!(
            without_previous.open(b"row-1", &sealed_before).is_err(),
            "a forgotten key's values do not open"
        );
    }

    #[test]
    fn malformed_previous_keys_are_refused() {
        for bad in [
            "1",
            "x:00",
            &format!("2:{KEY}"),
            &format!("1:{KEY},1:{NEW_KEY}"),
            "1:abcd",
        ] {
            assert!(
                Sealer::versioned(Some(NEW_KEY), 2, Some(bad)).is_err(),
                "{bad}"
            );
        }
    }
}
