//! PostgreSQL, for several server processes sharing one database.

use std::collections::HashMap;
use std::str::FromStr;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::Postgres;

use super::dialect::Dialect;
use super::door_group::{candidates_from, decide_group, door_answers};
use super::door_queue::DoorQueue;
use super::rows::CountedCandidateRow;
use super::scanning::{DoorWriter, INSERT_SCANS, push_candidates_query, push_scan_values, recorded_before};
use super::statement::Statement;
use super::upkeep::Upkeep;
use super::{DbResultExt, OpenError, SqlStorage};
use app::ssr::storage::{DoorAnswer, DoorScan, StorageResult};

/// PostgreSQL, for several server processes sharing one database.
pub struct PgDialect;

/// How long a request waits for a connection before it is answered 503. sqlx waits 30 s by
/// default, trying to connect again and again while the database is gone: a door's scan hung
/// that long before its device could fall back to deciding alone.
const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// Every statement a door writer runs finds its rows by key (numbers, ids), whatever the tables'
/// sizes, and it keeps its plans for as long as its connection lives. A plan made while the scans
/// were few hashed the whole table for each group, and went on doing it as it grew: measured,
/// 2,400 scans/s instead of 5,300 once the tickets' statistics were fresh and the scans' were not.
/// So its connections plan with indexes and nested loops only, once for each statement: planned
/// again at each run, the write's lookup of the group's tickets cost as much as its run.
fn only_key_lookups(options: PgConnectOptions) -> PgConnectOptions {
    options.options([
        ("enable_seqscan", "off"),
        ("enable_hashjoin", "off"),
        ("enable_mergejoin", "off"),
        ("plan_cache_mode", "force_generic_plan"),
    ])
}

/// Groups of door scans written at once by a process: while one waits for its commit to reach
/// the disk, another is decided.
const DOOR_WRITERS: usize = 2;

impl Dialect for PgDialect {
    type Db = Postgres;

    const FIELD_KEYS_SQL: &'static str = "SELECT DISTINCT k.key FROM tickets t, jsonb_object_keys(CASE WHEN \
         jsonb_typeof(t.fields::jsonb) = 'object' THEN t.fields::jsonb ELSE '{}'::jsonb END) AS k(key) \
         WHERE t.performance_id = $1 AND t.fields IS NOT NULL";

    /// A large import leaves PostgreSQL's statistics saying the performance has a few hundred
    /// tickets: report pages then read the heap instead of an index until autovacuum runs.
    /// ANALYZE samples the table in a fraction of a second.
    const AFTER_BULK_IMPORT: Option<&'static str> = Some("ANALYZE tickets, ticket_figures");

    /// A long transaction holds no door back here (each door locks only its tickets' rows), and
    /// the journal would cost a commit, a wait for the disk, each 1,000 rows.
    const FILE_IMPORT_IN_ONE_TRANSACTION: bool = true;

    /// Re-flagging locks the tickets' figures rows, as a door admitting them does.
    const LOCK_TICKETS_FOR_REFLAG: Option<&'static str> = Some(" FOR UPDATE");

    async fn open(url: &str) -> Result<SqlStorage<Self>, OpenError> {
        let options = PgConnectOptions::from_str(url).map_err(OpenError::Connect)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone())
            .await
            .map_err(OpenError::Connect)?;
        sqlx::migrate!("../migrations/postgres").run(&pool).await.map_err(OpenError::Migrate)?;
        // Each scan writer has a connection of its own, opened on its thread: its answers
        // arrive there.
        let door_writers = (0..DOOR_WRITERS)
            .map(|_| {
                DoorWriter::<Self>::new(
                    PgPoolOptions::new()
                        .max_connections(1)
                        .acquire_timeout(ACQUIRE_TIMEOUT)
                        .test_before_acquire(false)
                        .connect_lazy_with(only_key_lookups(options.clone())),
                )
            })
            .collect();
        let doors = DoorQueue::start(door_writers).map_err(OpenError::Writer)?;
        // The same pool writes: PostgreSQL takes concurrent writers. The figures are kept by
        // trigger: no upkeep.
        let storage = SqlStorage { doors, writer: pool.clone(), pool, _upkeep: Upkeep::new() };
        super::finish_interrupted_imports(storage.finish_interrupted_imports(app::ssr::now_millis() - super::STAGING_ABANDONED_AFTER_MS)).await;
        Ok(storage)
    }

    /// The figures are kept by the admission's own statement (the `scans_admission` trigger).
    /// With several processes writing, scans do not commit in id order, so SQLite's mark could
    /// not say which were counted; and the door's write needs them counted at once.
    async fn figures_up_to_date(_writer: &PgPool) -> StorageResult<()> {
        Ok(())
    }

    /// Two statements and no open transaction: a read of the group's tickets, then one
    /// statement that writes the group's scans only if none of the tickets it admits has had a
    /// pass since the read. Several processes write scans at once; each admission adds to its
    /// ticket's figures (by the statement that records it: the `scans_admission` trigger), so
    /// the write locks the figures' rows of the tickets it admits, in ticket order, and compares
    /// their passes with those read. A pass counted meanwhile means another door got there
    /// first: nothing is written, and the group is read and decided again, knowing. A write
    /// fails only because another succeeded, so the doors as a whole always move on; the row
    /// locks last one statement, and a group waits on them only when it scans a ticket another
    /// is admitting.
    async fn write_door_group(
        connection: &mut PoolConnection<Postgres>,
        group: &[DoorScan],
        look_for_retries: bool,
    ) -> StorageResult<Vec<DoorAnswer>> {
        loop {
            let mut read = Statement::<Postgres>::new("");
            push_candidates_query(&mut read, group, ", f.passes AS counted_passes", "JOIN ticket_figures f ON f.ticket_id = t.id");
            let (sql, arguments) = read.finish()?;
            let rows: Vec<CountedCandidateRow> = sqlx::query_as_with(&sql, arguments).fetch_all(&mut **connection).await.db()?;
            // Each ticket's passes as the figures counted them, in the same snapshot as its passes.
            let counted: HashMap<i64, i64> = rows.iter().map(|r| (r.candidate.id, r.counted_passes)).collect();
            let recorded = match look_for_retries {
                true => recorded_before(connection, group).await?,
                false => HashMap::new(),
            };
            let (answers, decided) = decide_group(group, candidates_from(rows.into_iter().map(|r| r.candidate).collect())?, recorded)?;
            if decided.is_empty() {
                return Ok(door_answers(answers, &decided));
            }
            let mut admitting: Vec<i64> = decided.iter().filter(|d| answers[d.answer].admitted).filter_map(|d| d.ticket_id).collect();
            admitting.sort_unstable();
            admitting.dedup();
            let passes_read: Vec<i64> = admitting.iter().map(|id| counted.get(id).copied().unwrap_or_default()).collect();
            let admitting_count = admitting.len() as i64;
            let mut write = Statement::<Postgres>::new("WITH unchanged AS (SELECT f.ticket_id FROM ticket_figures f JOIN unnest(");
            write.push_bind(admitting);
            write.push("::bigint[], ");
            write.push_bind(passes_read);
            write.push(
                "::bigint[]) AS read (ticket_id, passes) ON read.ticket_id = f.ticket_id AND read.passes = f.passes \
                 ORDER BY f.ticket_id FOR UPDATE OF f) ",
            );
            write.push(INSERT_SCANS);
            write.push("SELECT * FROM (");
            push_scan_values(&mut write, &answers, &decided)?;
            write.push(") AS decided WHERE (SELECT COUNT(*) FROM unchanged) = ");
            write.push_bind(admitting_count);
            let (sql, arguments) = write.finish()?;
            let written = sqlx::query_with(&sql, arguments).execute(&mut **connection).await.db()?;
            if written.rows_affected() == decided.len() as u64 {
                return Ok(door_answers(answers, &decided));
            }
            tracing::debug!(scans = group.len(), "a ticket of the group passed at another door meanwhile: deciding again");
        }
    }
}
