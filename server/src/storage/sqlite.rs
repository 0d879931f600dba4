//! The embedded default: one SQLite file under the data directory.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::Sqlite;

use super::dialect::Dialect;
use super::door_group::{candidates_from, decide_group, door_answers};
use super::door_queue::DoorQueue;
use super::rows::CandidateRow;
use super::scanning::{DoorWriter, INSERT_SCANS, push_candidates_query, push_scan_values, recorded_before};
use super::statement::Statement;
use super::upkeep::Upkeep;
use super::{DbResultExt, OpenError, SqlStorage};
use app::ssr::storage::{DoorAnswer, DoorScan, StorageResult};

/// SQLite: one file under the data directory, one writer at a time.
pub struct SqliteDialect;

/// How often the WAL is copied back into the database file, off the writer's path.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// How often the tickets' figures catch up with the scans (in batches: migrations/README.md).
/// A batch costs about 8 µs an admission (measured: 9,422 in 78 ms), so at 10,000 scans/s it
/// holds the write lock some 40 ms every half second. Reports bring the figures up to date
/// before they read them.
const FIGURES_EVERY: Duration = Duration::from_millis(500);

/// The writer never checkpoints (it would stall the scan whose commit crossed the threshold):
/// a reader does it in the background, passively, so neither side waits for the other.
async fn checkpoint(pool: &SqlitePool) {
    if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(pool).await {
        tracing::warn!(error = %e, "WAL checkpoint failed");
    }
}

/// The WAL restarts from its beginning only when a write begins after a checkpoint copied all of
/// it back, and an import's chunks follow each other with no such gap: the background checkpoint
/// copied them, but the WAL kept every page of every chunk, tens of GB for a 1.6 M-row file
/// (each chunk rewrites thousands of index pages), until the disk was full (SQLITE_FULL). So
/// the import checkpoints after each chunk, before writing the next one: the next write, its
/// own or a door's, starts the WAL again. It waits for a WAL past this many frames (64 MB of
/// 4 KB pages) to be copied whole (a door's commit or a reader may hold part of it back),
/// pausing itself, never the doors.
const WAL_IMPORT_FRAMES: i64 = 16_384;
/// How long an import waits for the WAL to be copied back before writing on regardless.
const WAL_IMPORT_WAIT: Duration = Duration::from_secs(10);

async fn let_the_wal_restart(readers: &SqlitePool) {
    let deadline = std::time::Instant::now() + WAL_IMPORT_WAIT;
    loop {
        // (busy, frames in the WAL, frames copied back); -1 when another checkpoint is running.
        match sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(readers).await {
            Ok((_, frames, copied)) if frames <= WAL_IMPORT_FRAMES || copied == frames => return,
            Ok((_, frames, copied)) if std::time::Instant::now() >= deadline => {
                tracing::warn!(frames, copied, "the WAL is not copied back: the import goes on, the WAL grows");
                return;
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            Err(e) => {
                tracing::warn!(error = %e, "WAL checkpoint between import chunks failed");
                return;
            }
        }
    }
}

/// Adds the admissions recorded since the last batch to their tickets' figures (passes and
/// first entry), and moves the mark, in one transaction.
async fn bring_figures_up_to_date(writer: &SqlitePool) -> StorageResult<()> {
    let mut connection = writer.acquire().await.db()?;
    let done = sqlx::query(
        "BEGIN IMMEDIATE; \
         UPDATE ticket_figures SET passes = ticket_figures.passes + f.passes, \
         first_entry = COALESCE(MIN(ticket_figures.first_entry, f.first_entry), ticket_figures.first_entry, f.first_entry) \
         FROM (SELECT ticket_id, COUNT(*) AS passes, MIN(CASE WHEN direction = 'in' THEN scanned_at END) AS first_entry \
               FROM scans WHERE id > (SELECT last_scan_id FROM ticket_figures_counted) AND admitted AND ticket_id IS NOT NULL \
               GROUP BY ticket_id) AS f \
         WHERE ticket_figures.ticket_id = f.ticket_id; \
         UPDATE ticket_figures_counted SET last_scan_id = (SELECT COALESCE(MAX(id), last_scan_id) FROM scans); \
         COMMIT",
    )
    .execute(&mut *connection)
    .await;
    if done.is_err() {
        // The connection goes back to the pool with no transaction open.
        let _ = sqlx::query("ROLLBACK").execute(&mut *connection).await;
    }
    done.map(|_| ()).db()
}

/// The data directory, made readable by the server's user only when it is created here (an
/// existing one, maybe shared, is left as it is).
fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// The database file, created before SQLite opens it so that it is the server's user's only:
/// it holds password and session hashes and holders' names, and SQLite gives its `-wal` and
/// `-shm` files the same mode.
fn private_file(file: &std::path::Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(file).map(drop)
}

impl Dialect for SqliteDialect {
    type Db = Sqlite;

    const FIELD_KEYS_SQL: &'static str = "SELECT DISTINCT j.key FROM tickets t, json_each(CASE WHEN NOT json_valid(t.fields) \
         THEN '{}' WHEN json_type(t.fields) = 'object' THEN t.fields ELSE '{}' END) j \
         WHERE t.performance_id = $1 AND t.fields IS NOT NULL";

    async fn between_import_chunks(readers: &SqlitePool) {
        let_the_wal_restart(readers).await
    }

    /// SQLite's planner picks the report's indexes without statistics.
    const AFTER_BULK_IMPORT: Option<&'static str> = None;

    /// One transaction holds SQLite's only writer, and the doors' scans wait behind it: a file
    /// import goes through the journal, a short transaction each 1,000 rows.
    const FILE_IMPORT_IN_ONE_TRANSACTION: bool = false;

    /// SQLite has one writer: the doors wait for the transaction re-flagging their tickets anyway.
    const LOCK_TICKETS_FOR_REFLAG: Option<&'static str> = None;

    async fn open(url: &str) -> Result<SqlStorage<Self>, OpenError> {
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
            private_dir(dir).map_err(|source| OpenError::DataDir { path: dir.display().to_string(), source })?;
        }
        if !url.contains(":memory:") && !url.contains("mode=memory") {
            let file = options.get_filename();
            private_file(file).map_err(|source| OpenError::DatabaseFile { path: file.display().to_string(), source })?;
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
        let upkeep = Upkeep::new();
        let readers = pool.clone();
        upkeep.every(CHECKPOINT_EVERY, move || {
            let readers = readers.clone();
            async move { checkpoint(&readers).await }
        });
        let figures_writer = writer.clone();
        upkeep.every(FIGURES_EVERY, move || {
            let writer = figures_writer.clone();
            async move {
                if let Err(e) = bring_figures_up_to_date(&writer).await {
                    tracing::warn!(error = %e, "the tickets' figures could not catch up with the scans");
                }
            }
        });
        let doors = DoorQueue::start(vec![DoorWriter::<Self>::new(writer.clone())]).map_err(OpenError::Writer)?;
        let storage = SqlStorage { pool, writer, doors, _upkeep: upkeep };
        super::finish_interrupted_imports(storage.finish_interrupted_imports(app::ssr::now_millis() - super::STAGING_ABANDONED_AFTER_MS)).await;
        Ok(storage)
    }

    /// The figures are counted in batches every `FIGURES_EVERY`: this one is counted now.
    async fn figures_up_to_date(writer: &SqlitePool) -> StorageResult<()> {
        bring_figures_up_to_date(writer).await
    }

    /// Two round trips to SQLite's thread: the write lock (`BEGIN IMMEDIATE`, so no other
    /// writer commits between the decision and its record) with the read of the group's
    /// tickets, then the write with the commit. Each round trip is a wake-up of that thread,
    /// and they made most of a scan's time.
    async fn write_door_group(
        connection: &mut PoolConnection<Sqlite>,
        group: &[DoorScan],
        look_for_retries: bool,
    ) -> StorageResult<Vec<DoorAnswer>> {
        let written = async {
            let mut read = Statement::<Sqlite>::new("BEGIN IMMEDIATE; ");
            push_candidates_query(&mut read, group, "", "");
            let (sql, arguments) = read.finish()?;
            let rows: Vec<CandidateRow> = sqlx::query_as_with(&sql, arguments).fetch_all(&mut **connection).await.db()?;
            let recorded = match look_for_retries {
                true => recorded_before(connection, group).await?,
                false => HashMap::new(),
            };
            let (answers, decided) = decide_group(group, candidates_from(rows)?, recorded)?;
            let mut write = Statement::<Sqlite>::new("");
            if !decided.is_empty() {
                write.push(INSERT_SCANS);
                push_scan_values(&mut write, &answers, &decided)?;
                write.push("; ");
            }
            write.push("COMMIT");
            let (sql, arguments) = write.finish()?;
            sqlx::query_with(&sql, arguments).execute(&mut **connection).await.db()?;
            Ok(door_answers(answers, &decided))
        }
        .await;
        if written.is_err() {
            // Whatever failed, the connection goes back to the pool with no transaction open
            // (an error here only says none was).
            let _ = sqlx::query("ROLLBACK").execute(&mut **connection).await;
        }
        written
    }
}

