//! The embedded default: one SQLite file under the data directory.

use std::str::FromStr;
use std::time::Duration;

use std::collections::HashMap;

use sqlx::pool::PoolConnection;
use sqlx::{QueryBuilder, Row, Sqlite};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous};

use super::door_queue::DoorQueue;
use super::shared::*;
use super::{OpenError, database_error};
use app::backend::storage::{
    Anomaly, DueAttachment, ImportMode, ImportedTicket, DoorScan, LoginRecord, MemberRecord, Millis, NewPerformance,
    NewSource, NewTicket, PendingCancellation, PendingPush, PerformanceContext, ScanRecord, SessionActor, SessionEnd, SourceRecord, StorageError,
    StorageResult, TicketRow,
};
use app::domain::{
    AttachmentView, EventId, EventRecord, FieldValues, GridRow, ImportSummary, Institution, InstitutionId, InstitutionName,
    LoginId, LoginName, Rights, SourceId, SourceKind, VenueId, VenueRecord,
};
use app::engine::{Pass, PerformanceId, Ticket};

pub struct SqliteStorage {
    pool: SqlitePool,
    /// SQLite takes one writer at a time: queueing writes on one connection here is fairer
    /// and faster than letting several connections poll the file lock.
    writer: SqlitePool,
    /// The doors' scans, decided and written on `writer` in groups.
    doors: DoorQueue,
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
            .foreign_keys(true)
            .pragma("temp_store", "memory")
            .pragma("cache_size", "-65536");
        if let Some(dir) = options.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|source| OpenError::DataDir { path: dir.display().to_string(), source })?;
        }
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
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
        let doors = DoorQueue::start(vec![DoorWriter { pool: writer.clone() }]).map_err(OpenError::Writer)?;
        Ok(Self { pool, writer, doors, _alive: alive })
    }
}

/// Decides and writes a group of door scans in two round trips to SQLite's thread: the write
/// lock (`BEGIN IMMEDIATE`, so no other writer commits between the decision and its record)
/// with the read of the group's tickets, then the write with the commit. Each round trip is a
/// wake-up of that thread, and they made most of a scan's time.
async fn write_door_group(
    connection: &mut PoolConnection<Sqlite>,
    group: &[DoorScan],
    look_for_retries: bool,
) -> StorageResult<Vec<ScanRecord>> {
    let written = async {
        let mut read = QueryBuilder::<Sqlite>::new("BEGIN IMMEDIATE; ");
        push_candidates_query(&mut read, group);
        let rows = read.build().fetch_all(&mut **connection).await.map_err(database_error)?;
        let recorded = match look_for_retries {
            true => recorded_before(connection, group).await?,
            false => HashMap::new(),
        };
        let (answers, decided) = decide_group(group, candidates_from(&rows)?, recorded)?;
        let mut write = QueryBuilder::<Sqlite>::new("");
        if !decided.is_empty() {
            push_insert(&mut write, &answers, &decided)?;
            write.push("; ");
        }
        write.push("COMMIT");
        write.build().execute(&mut **connection).await.map_err(database_error)?;
        Ok(answers)
    }
    .await;
    if written.is_err() {
        // Whatever failed, the connection goes back to the pool with no transaction open
        // (an error here only says none was).
        let _ = sqlx::query("ROLLBACK").execute(&mut **connection).await;
    }
    written
}

/// SQLite's planner picks the report's indexes without statistics.
const AFTER_BULK_IMPORT: Option<&str> = None;

show_storage!(SqliteStorage);
account_storage!(SqliteStorage, SqliteRow);
scan_storage!(SqliteStorage, sqlx::Sqlite, SqliteRow);
source_storage!(SqliteStorage, sqlx::Sqlite, SqliteRow);
report_storage!(SqliteStorage, sqlx::Sqlite, SqliteRow, super::reports::SQLITE_FIELD_KEYS);
