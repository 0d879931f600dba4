//! The storage contract. Every SQL statement lives in `server/src/storage/`, behind these
//! traits, in one implementation per database (SQLite, PostgreSQL) checked by one contract
//! suite.

mod accounts;
mod health;
mod reports;
mod scanning;
mod shows;
mod sources;

pub use accounts::*;
pub use health::*;
pub use reports::*;
pub use scanning::*;
pub use shows::*;
pub use sources::*;

/// Milliseconds since the Unix epoch: one portable time format for both databases.
pub use billetix_core::ids::Millis;

use crate::error::AppError;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("not found")]
    NotFound,
    #[error("already exists")]
    AlreadyExists,
    #[error("database: {0}")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The database did not answer (no connection within the pool's wait, connection lost).
    #[error("database unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

pub type StorageResult<T> = Result<T, StorageError>;

/// What a server function answers when storage fails: internals are logged, not shown.
impl From<StorageError> for AppError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound => AppError::NotFound,
            StorageError::AlreadyExists => AppError::AlreadyExists(String::new()),
            StorageError::Database(source) => {
                tracing::error!(error = %source, "storage failure");
                AppError::Internal
            }
            StorageError::Unavailable(source) => {
                tracing::warn!(error = %source, "database unavailable");
                AppError::Unavailable
            }
        }
    }
}

/// Everything the server keeps, behind one interface.
pub trait Storage: AccountStorage + ShowStorage + ScanStorage + SourceStorage + ReportStorage + HealthStorage + Send + Sync + 'static {}

impl<T: AccountStorage + ShowStorage + ScanStorage + SourceStorage + ReportStorage + HealthStorage + Send + Sync + 'static> Storage for T {}
