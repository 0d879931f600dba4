//! PostgreSQL, for several server processes sharing one database.

use std::str::FromStr;

use std::collections::HashMap;

use sqlx::pool::PoolConnection;
use sqlx::{Postgres, QueryBuilder, Row};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};

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

pub struct PgStorage {
    pool: PgPool,
    /// The same pool: PostgreSQL takes concurrent writers.
    writer: PgPool,
    /// The doors' scans, decided and written in groups.
    doors: DoorQueue,
}

impl PgStorage {
    pub async fn open(url: &str) -> Result<Self, OpenError> {
        let options = PgConnectOptions::from_str(url).map_err(OpenError::Connect)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect_with(options.clone())
            .await
            .map_err(OpenError::Connect)?;
        sqlx::migrate!("../migrations/postgres").run(&pool).await.map_err(OpenError::Migrate)?;
        // Each scan writer has a connection of its own, opened on its thread: its answers
        // arrive there.
        let door_writers = (0..DOOR_WRITERS)
            .map(|_| DoorWriter {
                pool: PgPoolOptions::new()
                    .max_connections(1)
                    .test_before_acquire(false)
                    .connect_lazy_with(only_key_lookups(options.clone())),
            })
            .collect();
        let doors = DoorQueue::start(door_writers).map_err(OpenError::Writer)?;
        Ok(Self { doors, writer: pool.clone(), pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Every statement a door writer runs finds its rows by key (numbers, ids), whatever the tables'
/// sizes, and it keeps its plans for as long as its connection lives. A plan made while the scans
/// were few hashed the whole table for each group, and went on doing it as it grew: measured,
/// 2,400 scans/s instead of 5,300 once the tickets' statistics were fresh and the scans' were not.
/// So its connections plan with indexes and nested loops only.
fn only_key_lookups(options: PgConnectOptions) -> PgConnectOptions {
    options.options([("enable_seqscan", "off"), ("enable_hashjoin", "off"), ("enable_mergejoin", "off")])
}

/// Groups of door scans written at once by a process: while one waits for its commit to reach
/// the disk, another is decided. Groups that share a ticket wait for each other's locks.
const DOOR_WRITERS: usize = 2;

/// Decides and writes a group of door scans. Several processes write scans at once: the rows of
/// the group's tickets' figures are locked (`FOR UPDATE`) by the statement that reads them, so
/// an admission of one of them elsewhere, which updates them, waits for this one, and the other
/// way round. The figures, not the tickets: locking a row writes to its page, and the ticket's
/// row is read by every scan but written by none. Locked in ticket order, so two processes'
/// groups never wait for each other in a circle. Four round trips: begin, lock and read,
/// write, commit.
async fn write_door_group(
    connection: &mut PoolConnection<Postgres>,
    group: &[DoorScan],
    look_for_retries: bool,
) -> StorageResult<Vec<ScanRecord>> {
    let mut tx = sqlx::Connection::begin(&mut **connection).await.map_err(database_error)?;
    let mut read = QueryBuilder::<Postgres>::new("");
    push_candidates_query(
        &mut read,
        group,
        ", f.passes AS counted_passes",
        "JOIN ticket_figures f ON f.ticket_id = t.id",
        " FOR UPDATE OF f",
    );
    let mut rows = read.build().fetch_all(&mut *tx).await.map_err(database_error)?;
    let mut candidates = candidates_from(&rows)?;
    if read_before_an_admission(&rows, &candidates)? {
        // The locks are held now: a new statement sees every admission committed before them.
        let mut again = QueryBuilder::<Postgres>::new("");
        push_candidates_query(&mut again, group, "", "", "");
        rows = again.build().fetch_all(&mut *tx).await.map_err(database_error)?;
        candidates = candidates_from(&rows)?;
    }
    let recorded = match look_for_retries {
        true => recorded_before(&mut tx, group).await?,
        false => HashMap::new(),
    };
    let (answers, decided) = decide_group(group, candidates, recorded)?;
    if !decided.is_empty() {
        let mut write = QueryBuilder::<Postgres>::new("");
        push_insert(&mut write, &answers, &decided)?;
        write.build().execute(&mut *tx).await.map_err(database_error)?;
    }
    tx.commit().await.map_err(database_error)?;
    Ok(answers)
}

/// Whether the locking read missed passes. Its snapshot was taken before it waited for a lock:
/// the figures of a ticket that the transaction it waited for admitted come back as that
/// transaction left them (the locked row is read again), with one pass more counted (by the
/// admission's own statement, migration 0011), but without that pass among the ticket's
/// passes, which were read in the older snapshot.
fn read_before_an_admission(rows: &[PgRow], candidates: &[Candidate]) -> StorageResult<bool> {
    let mut counted: HashMap<i64, i64> = HashMap::with_capacity(candidates.len());
    for row in rows {
        counted.insert(row.try_get("id").map_err(database_error)?, row.try_get("counted_passes").map_err(database_error)?);
    }
    Ok(candidates.iter().any(|c| counted.get(&c.id).is_some_and(|&n| usize::try_from(n).ok() != Some(c.passes.len()))))
}

impl PgStorage {
    /// The figures are kept by the admission's own statement (a trigger, migration 0011). With
    /// several processes writing, scans do not commit in id order, so SQLite's mark could not
    /// say which were counted; and the door's lock needs them counted at once.
    async fn figures_up_to_date(&self) -> StorageResult<()> {
        Ok(())
    }
}

/// A large import leaves PostgreSQL's statistics saying the performance has a few hundred tickets:
/// report pages then read the heap instead of an index until autovacuum runs. ANALYZE samples
/// the table in a fraction of a second.
const AFTER_BULK_IMPORT: Option<&str> = Some("ANALYZE tickets, ticket_figures");

show_storage!(PgStorage);
account_storage!(PgStorage, PgRow);
scan_storage!(PgStorage, sqlx::Postgres, PgRow);
source_storage!(PgStorage, sqlx::Postgres, PgRow);
report_storage!(PgStorage, sqlx::Postgres, PgRow, super::reports::POSTGRES_FIELD_KEYS);
