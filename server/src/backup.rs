//! `billetix backup FILE` and `billetix restore FILE`, for the SQLite database (PostgreSQL has
//! `pg_dump` and `pg_restore`: README, *Operating Billetix*).
//!
//! A backup is `VACUUM INTO`: one read transaction copies the database as it stood when it
//! began, while the server goes on writing (WAL: readers and the writer do not wait for each
//! other). A restore checks the copy's schema first (a newer one is refused), brings an older
//! one up to date on a copy, makes sure no server has the database open, keeps the database it
//! replaces beside it, and puts the copy in its place.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use app::ssr::storage::SchemaState;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteLockingMode};
use sqlx::{ConnectOptions, Connection, SqliteConnection};

use crate::storage::{APPLIED_MIGRATIONS, Migrations};

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("backup and restore work on SQLite; for PostgreSQL use pg_dump and pg_restore (README, Operating Billetix)")]
    NotSqlite,
    #[error("{0} exists already: a backup never overwrites a file")]
    Exists(PathBuf),
    #[error("{path}: {source}")]
    File { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a Billetix database: {source}")]
    NotADatabase { path: PathBuf, source: sqlx::Error },
    #[error("{0} holds a newer schema than this build of Billetix knows: restore it with the Billetix that made it")]
    Newer(PathBuf),
    #[error("{0} holds a migration that failed half-way: it cannot be restored")]
    Failed(PathBuf),
    #[error("{0} failed its integrity check")]
    Damaged(PathBuf),
    #[error("{0} is in use: stop the server (every process) before restoring")]
    InUse(PathBuf),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("cannot bring the copy's schema up to date: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// The database file `DATABASE_URL` names.
fn database_file(url: &str) -> Result<(SqliteConnectOptions, PathBuf), BackupError> {
    if !url.starts_with("sqlite:") {
        return Err(BackupError::NotSqlite);
    }
    let options = SqliteConnectOptions::from_str(url)?;
    let file = options.get_filename().to_path_buf();
    Ok((options, file))
}

/// A new empty file readable by this user only (it will hold password hashes); an existing
/// one is refused.
fn new_private_file(path: &Path) -> Result<(), BackupError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(BackupError::Exists(path.to_owned())),
        Err(source) => Err(BackupError::File { path: path.to_owned(), source }),
    }
}

/// Copies the database `from` is connected to into the new file `into`, as it stands now.
async fn vacuum_into(from: &mut SqliteConnection, into: &Path) -> Result<(), BackupError> {
    new_private_file(into)?;
    let copied = sqlx::query("VACUUM INTO $1").bind(into.to_string_lossy().into_owned()).execute(&mut *from).await;
    if let Err(e) = copied {
        let _ = std::fs::remove_file(into);
        return Err(e.into());
    }
    Ok(())
}

async fn checked(connection: &mut SqliteConnection, path: &Path) -> Result<(), BackupError> {
    let verdict: String = sqlx::query_scalar("PRAGMA quick_check").fetch_one(&mut *connection).await?;
    if verdict == "ok" { Ok(()) } else { Err(BackupError::Damaged(path.to_owned())) }
}

/// A consistent copy of the live database in the new file `file`; its size in bytes.
pub async fn backup(database_url: &str, file: &Path) -> Result<u64, BackupError> {
    let (options, database) = database_file(database_url)?;
    let mut live = options.create_if_missing(false).busy_timeout(Duration::from_secs(10)).connect().await?;
    vacuum_into(&mut live, file).await?;
    let mut copy = SqliteConnectOptions::new().filename(file).read_only(true).connect().await?;
    checked(&mut copy, file).await?;
    tracing::info!(from = %database.display(), to = %file.display(), "database backed up");
    std::fs::metadata(file).map(|m| m.len()).map_err(|source| BackupError::File { path: file.to_owned(), source })
}

/// Where the database a restore replaces is kept: `billetix.db.replaced-20261208T001500`.
fn kept_name(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(format!(".replaced-{}", chrono::Utc::now().format("%Y%m%dT%H%M%S")));
    PathBuf::from(name)
}

fn beside(database: &Path, suffix: &str) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Moves the database out of the way, under the name returned, provided no process has it
/// open; `None` when there is none.
async fn set_aside(database: &Path) -> Result<Option<PathBuf>, BackupError> {
    if !database.exists() {
        return Ok(None);
    }
    // Exclusive: refused while any process has the database open; its log is folded into the
    // file, which is then whole on its own.
    let exclusive = SqliteConnectOptions::new()
        .filename(database)
        .journal_mode(SqliteJournalMode::Wal)
        .locking_mode(SqliteLockingMode::Exclusive)
        .busy_timeout(Duration::ZERO);
    let in_use = || BackupError::InUse(database.to_owned());
    let mut alone = exclusive.connect().await.map_err(|_| in_use())?;
    sqlx::query("BEGIN EXCLUSIVE; COMMIT").execute(&mut alone).await.map_err(|_| in_use())?;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut alone).await?;
    alone.close().await?;
    let kept = kept_name(database);
    std::fs::rename(database, &kept).map_err(|source| BackupError::File { path: database.to_owned(), source })?;
    Ok(Some(kept))
}

/// Puts the backup `file` in place of the database; the database replaced, if any, is kept
/// under the name returned.
pub async fn restore(database_url: &str, file: &Path) -> Result<Option<PathBuf>, BackupError> {
    let (_, database) = database_file(database_url)?;
    let not_a_database = |source| BackupError::NotADatabase { path: file.to_owned(), source };
    let mut backup = SqliteConnectOptions::new().filename(file).read_only(true).connect().await.map_err(not_a_database)?;
    let applied: Vec<(i64, bool)> = sqlx::query_as(APPLIED_MIGRATIONS).fetch_all(&mut backup).await.map_err(not_a_database)?;
    match SchemaState::of(&sqlx::Sqlite::known_versions(), &applied) {
        SchemaState::Newer => return Err(BackupError::Newer(file.to_owned())),
        SchemaState::Failed => return Err(BackupError::Failed(file.to_owned())),
        SchemaState::Current | SchemaState::Behind => {}
    }
    if let Some(dir) = database.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| BackupError::File { path: dir.to_owned(), source })?;
    }
    // The copy is made and brought up to date beside the database, then renamed over it.
    let staged = beside(&database, ".restoring");
    let _ = std::fs::remove_file(&staged);
    vacuum_into(&mut backup, &staged).await?;
    backup.close().await?;
    let mut copy = SqliteConnectOptions::new().filename(&staged).connect().await?;
    checked(&mut copy, file).await?;
    <sqlx::Sqlite as Migrations>::migrator().run(&mut copy).await?;
    copy.close().await?;

    let kept = match set_aside(&database).await {
        Ok(kept) => kept,
        Err(e) => {
            let _ = std::fs::remove_file(&staged);
            return Err(e);
        }
    };
    for stale in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(beside(&database, stale));
    }
    std::fs::rename(&staged, &database).map_err(|source| BackupError::File { path: database.clone(), source })?;
    tracing::info!(from = %file.display(), to = %database.display(), "database restored");
    Ok(kept)
}
