//! The storage contract. Every SQL statement lives in `server/src/storage/`, behind these
//! traits, in one implementation per database (SQLite, PostgreSQL) checked by one contract
//! suite.

mod accounts;
mod reports;
mod scanning;
mod shows;
mod sources;

pub use accounts::*;
pub use reports::*;
pub use scanning::*;
pub use shows::*;
pub use sources::*;

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

/// Milliseconds since the Unix epoch: one portable time format for both databases.
pub type Millis = i64;

/// Everything the server keeps, behind one interface.
pub trait Storage: AccountStorage + ShowStorage + ScanStorage + SourceStorage + ReportStorage + Send + Sync + 'static {}

impl<T: AccountStorage + ShowStorage + ScanStorage + SourceStorage + ReportStorage + Send + Sync + 'static> Storage for T {}
