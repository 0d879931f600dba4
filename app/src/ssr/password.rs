//! argon2id password hashing, run off the async threads because it is slow on purpose, and a
//! few at a time: each takes 19 MiB and a core for a good part of a second, so an
//! unauthenticated burst must queue here rather than take the machine's memory.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::rngs::OsRng;

use billetix_core::domain::Password;

use crate::error::AppError;

/// Hashes computed at once, whatever the number of requests.
const CONCURRENT_HASHES: usize = 4;

async fn hashing_permit() -> Option<tokio::sync::SemaphorePermit<'static>> {
    static PERMITS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(CONCURRENT_HASHES);
    PERMITS.acquire().await.ok()
}

pub async fn hash(password: &Password) -> Result<String, AppError> {
    let secret = password.expose().to_owned();
    let _permit = hashing_permit().await;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(secret.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "password hashing task failed");
        AppError::Internal
    })?
    .map_err(|e| {
        tracing::error!(error = %e, "password hashing failed");
        AppError::Internal
    })
}

pub async fn verify(candidate: String, stored_hash: String) -> bool {
    let _permit = hashing_permit().await;
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored_hash)
            .map(|parsed| Argon2::default().verify_password(candidate.as_bytes(), &parsed).is_ok())
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A hash of a random secret, verified against when the login does not exist so that a
/// wrong login and a wrong password take the same time.
pub async fn decoy_hash() -> String {
    static DECOY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DECOY
        .get_or_init(|| async {
            let mut secret = [0u8; 24];
            rand::RngCore::fill_bytes(&mut OsRng, &mut secret);
            match Password::parse(&hex::encode(secret)) {
                Ok(random) => hash(&random).await.unwrap_or_default(),
                Err(_) => String::new(),
            }
        })
        .await
        .clone()
}
