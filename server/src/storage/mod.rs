//! Where every SQL statement lives: one implementation of `app::ssr::storage::Storage`,
//! `SqlStorage<D>`, over either database. The statements are written once, as generic impls
//! (`accounts.rs`, `shows.rs`, `scanning.rs`, `sources.rs`, `reports.rs`); what differs between
//! the databases is named in one trait, `Dialect` (`dialect.rs`), implemented in `sqlite.rs` and
//! `postgres.rs`. The doors' scans are decided in groups (`door_group.rs`, pure) and written by
//! the door writers (`door_queue.rs`); rows are read into the types of `rows.rs`.

mod accounts;
mod dialect;
mod door_group;
mod door_queue;
mod health;
mod postgres;
mod reports;
mod rows;
mod scanning;
mod shared;
mod shows;
mod sources;
mod sqlite;
mod statement;
mod upkeep;

use std::sync::Arc;

use app::ssr::live::{LiveBus, LocalBus};
use app::ssr::storage::{Storage, StorageError, StorageResult};

pub use dialect::Dialect;
pub use health::{APPLIED_MIGRATIONS, Migrations};
pub use postgres::PgDialect;
pub use sqlite::SqliteDialect;

/// The storage on SQLite: one file, one writer.
pub type SqliteStorage = SqlStorage<SqliteDialect>;
/// The storage on PostgreSQL, which several server processes may share.
pub type PgStorage = SqlStorage<PgDialect>;

/// The storage over one SQL database, in its dialect `D`.
pub struct SqlStorage<D: Dialect> {
    /// Reads.
    pool: sqlx::Pool<D::Db>,
    /// Writes: on SQLite one connection, where they queue (fairer and faster than several
    /// connections polling the file lock); on PostgreSQL the same pool as reads.
    writer: sqlx::Pool<D::Db>,
    /// The doors' scans, decided and written in groups.
    doors: door_queue::DoorQueue,
    /// The dialect's background jobs, for as long as this storage lives.
    _upkeep: upkeep::Upkeep,
}

impl<D: Dialect> SqlStorage<D> {
    /// The pool reads go through (PostgreSQL's live bus listens on it).
    pub fn pool(&self) -> &sqlx::Pool<D::Db> {
        &self.pool
    }

    /// Reports and gauges read the figures up to the last scan recorded.
    async fn figures_up_to_date(&self) -> StorageResult<()> {
        D::figures_up_to_date(&self.writer).await
    }
}

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

/// An import still staging this long after it began was cut by a stop (the import journal); a
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
        let storage = SqliteDialect::open(url).await?;
        Ok(Opened { storage: Arc::new(storage), live: Arc::new(LocalBus::default()) })
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let storage = PgDialect::open(url).await?;
        let live = crate::live::PgBus::start(storage.pool().clone());
        Ok(Opened { storage: Arc::new(storage), live })
    } else {
        Err(OpenError::UnsupportedUrl(url.to_owned()))
    }
}

/// sqlx's errors as the storage's: the orphan rule forbids a `From`, both types being foreign here.
trait DbResultExt<T> {
    /// The storage's error for a failed statement (`database_error`).
    fn db(self) -> StorageResult<T>;
    /// As `db`, but a row the statement refers to that does not exist (a foreign key) is
    /// `NotFound`.
    fn or_missing_row(self) -> StorageResult<T>;
}

impl<T> DbResultExt<T> for Result<T, sqlx::Error> {
    fn db(self) -> StorageResult<T> {
        self.map_err(database_error)
    }

    fn or_missing_row(self) -> StorageResult<T> {
        self.map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => StorageError::NotFound,
            _ => database_error(e),
        })
    }
}

/// The statement changed at least one row, or what it was to change is `NotFound`.
trait FoundExt {
    fn found(self) -> StorageResult<()>;
}

impl<R: dialect::Affected> FoundExt for Result<R, sqlx::Error> {
    fn found(self) -> StorageResult<()> {
        if self.db()?.rows_affected() == 0 { Err(StorageError::NotFound) } else { Ok(()) }
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
