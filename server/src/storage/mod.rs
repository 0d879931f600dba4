//! Where every SQL statement lives: one implementation of `app::backend::storage::Storage`
//! per database. Both run the same statements, written once (`accounts.rs`, `shows.rs`, `scanning.rs`, `sources.rs`);
//! what differs (connection set-up, migrations, notifications) stays in `sqlite.rs` and
//! `postgres.rs`; the doors' scans are decided and written in groups (`door_queue.rs`).

#[macro_use]
mod accounts;
#[macro_use]
mod reports;
#[macro_use]
mod scanning;
#[macro_use]
mod shows;
#[macro_use]
mod sources;
mod door_queue;
mod postgres;
mod shared;
mod sqlite;
mod upkeep;

use std::sync::Arc;

use app::backend::live::{LiveBus, LocalBus};
use app::backend::storage::{Storage, StorageError};

pub use postgres::PgStorage;
pub use sqlite::SqliteStorage;

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("unsupported database URL (expected sqlite:… or postgres://…): {0}")]
    UnsupportedUrl(String),
    #[error("cannot create the data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error("cannot create the database file {path}: {source}")]
    DatabaseFile { path: String, source: std::io::Error },
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot start the scan writer: {0}")]
    Writer(#[source] std::io::Error),
    #[error("cannot apply migrations: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

/// An import still staging this long after it began was cut by a stop (migration 0017); a
/// younger one may be staging in another process sharing the database.
const STAGING_ABANDONED_AFTER_MS: i64 = 3_600_000;

/// A stop cut an import: finish it (or drop its staging) before serving. A failure is logged
/// and the doors open all the same; the next start tries again.
async fn finish_interrupted_imports(finish: impl std::future::Future<Output = Result<(), StorageError>>) {
    if let Err(e) = finish.await {
        tracing::error!(error = %e, "the file imports a stop interrupted could not be finished; they will be at the next start");
    }
}

/// A database and the live bus that goes with it.
pub struct Opened {
    pub storage: Arc<dyn Storage>,
    pub live: Arc<dyn LiveBus>,
}

/// Opens the database named by `url` and brings its schema up to date.
pub async fn open(url: &str) -> Result<Opened, OpenError> {
    if url.starts_with("sqlite:") {
        let storage = SqliteStorage::open(url).await?;
        Ok(Opened { storage: Arc::new(storage), live: Arc::new(LocalBus::default()) })
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let storage = PgStorage::open(url).await?;
        let live = crate::live::PgBus::start(storage.pool().clone());
        Ok(Opened { storage: Arc::new(storage), live })
    } else {
        Err(OpenError::UnsupportedUrl(url.to_owned()))
    }
}

fn database_error(e: sqlx::Error) -> StorageError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StorageError::AlreadyExists,
        sqlx::Error::Database(db) if db.code().is_some_and(|code| database_unreachable(&code)) => StorageError::Unavailable(Box::new(e)),
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => StorageError::Unavailable(Box::new(e)),
        _ => StorageError::Database(Box::new(e)),
    }
}

/// PostgreSQL's words for a database going away: a connection exception (class 08), or the
/// server shutting down or starting (57P01 to 57P03, what a restart answers).
fn database_unreachable(sqlstate: &str) -> bool {
    sqlstate.starts_with("08") || matches!(sqlstate, "57P01" | "57P02" | "57P03")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_restarting_postgresql_is_unreachable_not_a_failure() {
        for code in ["08006", "08001", "57P01", "57P02", "57P03"] {
            assert!(super::database_unreachable(code), "{code}");
        }
        for code in ["23505", "40001", "57014", "42P01"] {
            assert!(!super::database_unreachable(code), "{code}");
        }
    }
}
