//! Passwords: argon2id, hashed and verified on the blocking pool so a login
//! never stalls the async workers.

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};

use std::sync::Mutex;

use crate::error::{AppError, AppResult};

pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 200;

#[derive(Clone, Copy)]
pub struct PasswordHasherConfig {
    pub memory_kib: u32,
}

impl PasswordHasherConfig {
    fn argon2(self) -> Argon2<'static> {
        let params = Params::new(self.memory_kib.max(8), 2, 1, None).unwrap_or_default();
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    pub async fn hash(self, password: String) -> AppResult<String> {
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            self.argon2()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| AppError::Internal(e.to_string()))
        })
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
    }

    /// True when `password` matches the stored PHC string.
    pub async fn verify(self, password: String, stored: String) -> AppResult<bool> {
        tokio::task::spawn_blocking(move || {
            let parsed =
                PasswordHash::new(&stored).map_err(|e| AppError::Internal(e.to_string()))?;
            Ok(self
                .argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok())
        })
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
    }
}

impl PasswordHasherConfig {
    /// Costs what [`verify`](Self::verify) of a real account costs, and is
    /// always false: the answer for an email that has no account, so that
    /// timing does not tell which emails do.
    pub async fn verify_nothing(self, password: String) -> AppResult<bool> {
        let stand_in = self.stand_in_hash().await?;
        self.verify(password, stand_in).await?;
        Ok(false)
    }

    /// Makes the stand-in hash now, so the first unknown email costs no more than the next.
    pub async fn prepare(self) -> AppResult<()> {
        self.stand_in_hash().await.map(drop)
    }

    /// A hash with this configuration's parameters, made once per process.
    async fn stand_in_hash(self) -> AppResult<String> {
        static STAND_INS: Mutex<Vec<(u32, String)>> = Mutex::new(Vec::new());
        let cached = |memory_kib| {
            let made = STAND_INS.lock().expect("stand-in hashes");
            made.iter()
                .find(|(kib, _)| *kib == memory_kib)
                .map(|(_, hash)| hash.clone())
        };
        if let Some(hash) = cached(self.memory_kib) {
            return Ok(hash);
        }
        let hash = self.hash(super::secret::generate()).await?;
        STAND_INS
            .lock()
            .expect("stand-in hashes")
            .push((self.memory_kib, hash.clone()));
        Ok(hash)
    }
}

/// Checks a new password's length (in characters).
pub fn validate_new(password: &str) -> AppResult<()> {
    let len = password.chars().count();
    if len < MIN_LENGTH {
        return Err(AppError::bad_input(format!(
            "password must be at least {MIN_LENGTH} characters"
        )));
    }
    if len > MAX_LENGTH {
        return Err(AppError::bad_input(format!(
            "password must be at most {MAX_LENGTH} characters"
        )));
    }
    Ok(())
}
