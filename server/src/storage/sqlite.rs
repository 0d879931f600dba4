//! The embedded default: one SQLite file under the data directory.

use std::str::FromStr;
use std::time::Duration;

use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous};

use super::statements::*;
use super::{OpenError, database_error};
use app::backend::storage::{LoginRecord, MemberRecord, Millis, SessionEnd, SessionLookup, StorageError, StorageResult};
use app::domain::{Institution, InstitutionId, InstitutionName, LoginId, LoginName, Rights};

pub struct SqliteStorage {
    pool: SqlitePool,
}

impl SqliteStorage {
    pub async fn open(url: &str) -> Result<Self, OpenError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(OpenError::Connect)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        if let Some(dir) = options.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|source| OpenError::DataDir { path: dir.display().to_string(), source })?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(OpenError::Connect)?;
        sqlx::migrate!("../migrations/sqlite").run(&pool).await.map_err(OpenError::Migrate)?;
        Ok(Self { pool })
    }
}

sql_storage!(SqliteStorage, SqliteRow);
