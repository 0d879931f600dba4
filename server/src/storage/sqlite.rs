//! The embedded default: one SQLite file under the data directory.

use std::str::FromStr;
use std::time::Duration;

use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous};

use super::group_commit::GroupCommit;
use super::shared::*;
use super::{OpenError, database_error};
use app::backend::storage::{
    Anomaly, DueAttachment, ImportMode, ImportedTicket, Judge, LoginRecord, MemberRecord, Millis, NewPerformance, NewScan,
    NewSource, NewTicket, PendingCancellation, PendingPush, PerformanceContext, ScanRecord, SessionActor, SessionEnd, SourceRecord, StorageError,
    StorageResult, TicketRow,
};
use app::domain::{
    AttachmentView, EventId, EventRecord, FieldValues, GridRow, ImportSummary, Institution, InstitutionId, InstitutionName,
    LoginId, LoginName, Rights, SourceId, SourceKind, VenueId, VenueRecord,
};
use app::engine::{Barcode, Pass, PerformanceId, Ticket};

pub struct SqliteStorage {
    pool: SqlitePool,
    /// SQLite takes one writer at a time: queueing writes on one connection here is fairer
    /// and faster than letting several connections poll the file lock.
    writer: SqlitePool,
    /// The doors' admissions, committed on `writer` in groups.
    admissions: GroupCommit,
    /// Alive as long as this storage: the checkpointer stops when it goes.
    _alive: std::sync::Arc<()>,
}

/// How often the WAL is copied back into the database file, off the writer's path.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// The writer never checkpoints (it would stall the scan whose commit crossed the threshold):
/// a reader does it in the background, passively, so neither side waits for the other.
fn spawn_checkpointer(pool: SqlitePool, alive: std::sync::Weak<()>) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(CHECKPOINT_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if alive.upgrade().is_none() {
                return;
            }
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
                tracing::warn!(error = %e, "WAL checkpoint failed");
            }
        }
    });
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
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone().pragma("wal_autocheckpoint", "0"))
            .await
            .map_err(OpenError::Connect)?;
        sqlx::migrate!("../migrations/sqlite").run(&writer).await.map_err(OpenError::Migrate)?;
        // Each sqlx SQLite connection is a thread; on small machines more readers mostly add
        // context switches.
        let readers = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 8);
        let pool = SqlitePoolOptions::new()
            .max_connections(readers as u32)
            .connect_with(options)
            .await
            .map_err(OpenError::Connect)?;
        let alive = std::sync::Arc::new(());
        spawn_checkpointer(pool.clone(), std::sync::Arc::downgrade(&alive));
        let admissions = GroupCommit::start(writer.clone(), admit_statement);
        Ok(Self { pool, writer, admissions, _alive: alive })
    }

    /// The record if written; `None` if this scan id was recorded before or the ticket's
    /// version moved.
    async fn admit(&self, admission: Admission) -> StorageResult<Option<ScanRecord>> {
        self.admissions.admit(admission).await
    }
}

/// Writes a scan; an admission only while the ticket's pass version is still `$15`. The
/// trigger of migration 0003 bumps the version in the same statement, and SQLite runs one
/// writer at a time, so two admissions decided on one version cannot both be written.
const ADMIT: &str = "INSERT INTO scans (scan_uuid, performance_id, ticket_id, barcode, device, login_id, scanned_at, \
     client_time, server_time, direction, admitted, verdict, offline, anomaly) \
     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14 \
     WHERE NOT $11 OR $3 IS NULL OR EXISTS (SELECT 1 FROM tickets WHERE id = $3 AND pass_version = $15) \
     ON CONFLICT (scan_uuid) DO NOTHING";

/// SQLite's planner picks the report's indexes without statistics.
const AFTER_BULK_IMPORT: Option<&str> = None;

show_storage!(SqliteStorage);
account_storage!(SqliteStorage, SqliteRow);
scan_storage!(SqliteStorage, sqlx::Sqlite, SqliteRow);
source_storage!(SqliteStorage, sqlx::Sqlite, SqliteRow);
report_storage!(SqliteStorage, sqlx::Sqlite, SqliteRow, super::reports::SQLITE_FIELD_KEYS);
