//! Performances, tickets and scans: the SQL both databases run, written once; and what the
//! doors' writers share between the dialects (their own `Dialect::write_door_group` decides
//! and writes a group: atomically, in how many round trips, is theirs).

use std::collections::{BTreeMap, HashMap};
use std::marker::PhantomData;

use app::ssr::storage::{
    Anomaly, DecisionNote, DoorAnswer, DoorScan, Millis, NewTicket, PerformanceContext, ScanRecord, ScanStorage, StorageError, StorageResult,
    TicketRow,
};
use app::domain::{InstitutionId, LoginId};
use app::engine::PerformanceId;
use app::sync::protocol::{GateSet, PerformanceGate};
use app::sync::reflag::{RecordedPass, reflagged};
use sqlx::pool::PoolConnection;
use sqlx::{ColumnIndex, Database, Encode, Executor, Pool, Type};

use super::dialect::{Connection, Dialect, Row, SqlDb, Value};
use super::door_group::Decided;
use super::door_queue::WriteGroup;
use super::rows::{PerformanceContextRow, ReflagRow, ScanRow, TicketDeltaRow};
use super::shared::{BULK_IMPORT, verdict_json, window_from};
use super::statement::Statement;
use super::{DbResultExt, SqlStorage};

/// A performance's tickets the gauge counts: those that may enter, and those that
/// entered before they were cancelled (so admitted never exceeds the total).
const COUNTABLE_TICKETS: &str = "SELECT (SELECT COUNT(*) FROM tickets WHERE performance_id = $1 AND state = 'valid') \
     + (SELECT COUNT(*) FROM tickets t WHERE t.performance_id = $1 AND t.state <> 'valid' \
        AND EXISTS (SELECT 1 FROM ticket_figures f WHERE f.ticket_id = t.id AND f.first_entry IS NOT NULL))";

/// The columns of a `ScanRow`.
const SCAN_COLUMNS: &str = "scan_uuid, performance_id, barcode, device, scanned_at, server_time, \
                            direction, admitted, verdict, offline, anomaly, client_time, round_trip_ms, \
                            device_reason, server_agreed, clock_skew_ms";


/// After an import of `imported` tickets, a bulk one, refreshes the planner's statistics
/// (`Dialect::AFTER_BULK_IMPORT`) rather than waiting for the autovacuum: until then they
/// describe the tables before the import, and the doors' statements are planned on them.
/// Statistics only: a failure costs speed, never tickets.
pub(super) async fn refresh_statistics_after_import<D: Dialect>(pool: &Pool<D::Db>, imported: usize)
where
    for<'c> &'c mut Connection<D>: Executor<'c, Database = D::Db>,
{
    if let (true, Some(statement)) = (imported >= BULK_IMPORT, D::AFTER_BULK_IMPORT)
        && let Err(e) = sqlx::query(statement).execute(pool).await
    {
        tracing::warn!(error = %e, "statistics not refreshed after an import");
    }
}

/// `SELECT id FROM tickets` of these numbers in `performance`.
fn push_tickets_of<'a, DB: Database>(query: &mut Statement<'a, DB>, performance: i64, barcodes: &[&str])
where
    i64: Value<DB>,
    String: Value<DB>,
{
    query.push("SELECT id FROM tickets WHERE performance_id = ").push_bind(performance).push(" AND barcode IN ");
    query.push_list(barcodes.iter().map(|barcode| barcode.to_string()));
}

/// `FROM … WHERE` over the tickets any scan of `group` may be about (its numbers in the
/// doors' performances, or elsewhere in their institutions), with their passes and
/// `extra_joins`. A number found in the doors' performances is not looked for elsewhere:
/// the door decides on that ticket (`ticket_for`), and a ticket of another performance
/// would only add rows to read (a series' tickets often share their numbers from one
/// performance to the next).
fn push_group_tickets<'a, DB: Database>(query: &mut Statement<'a, DB>, group: &'a [DoorScan], extra_joins: &str)
where
    for<'n> &'n str: Encode<'n, DB> + Type<DB>,
    i64: Value<DB>,
{
    fn distinct<T: Ord>(items: impl Iterator<Item = T>) -> Vec<T> {
        let mut items: Vec<T> = items.collect();
        items.sort_unstable();
        items.dedup();
        items
    }
    let barcodes = distinct(group.iter().map(|d| d.scan.barcode.as_str()));
    let performances = distinct(group.iter().flat_map(|d| d.performances.iter().map(|p| p.0)));
    let institutions = distinct(group.iter().flat_map(|d| d.institutions.iter().map(|i| i.0)));
    query.push(
        " FROM tickets t JOIN performances p ON p.id = t.performance_id JOIN events e ON e.id = p.event_id \
         JOIN venues v ON v.id = e.venue_id LEFT JOIN scans s ON s.ticket_id = t.id AND s.admitted ",
    );
    query.push(extra_joins);
    query.push(" WHERE t.barcode IN ");
    query.push_list(barcodes);
    query.push(" AND (t.performance_id IN ");
    query.push_list(performances.iter().copied());
    query.push(" OR v.institution_id IN ");
    query.push_list(institutions);
    query.push(
        " AND NOT EXISTS (SELECT 1 FROM tickets controlled \
         WHERE controlled.barcode = t.barcode AND controlled.performance_id IN ",
    );
    query.push_list(performances);
    query.push("))");
}

/// Appends to `query` the statement reading the tickets `group` may be about, as stored.
/// `extra_columns` (", …") and the `extra_joins` they read are the dialect's own.
pub(super) fn push_candidates_query<'a, DB: Database>(
    query: &mut Statement<'a, DB>,
    group: &'a [DoorScan],
    extra_columns: &str,
    extra_joins: &str,
) where
    for<'n> &'n str: Encode<'n, DB> + Type<DB>,
    i64: Value<DB>,
{
    query.push(
        "SELECT t.id, t.barcode, v.institution_id, t.performance_id, t.state, t.category, \
         p.valid_from, p.valid_to, s.scanned_at, s.direction, s.device",
    );
    query.push(extra_columns);
    push_group_tickets(query, group, extra_joins);
    query.push(" ORDER BY t.id, s.scanned_at, s.id");
}

/// Scans of `group` recorded before (retries), by scan id.
pub(super) async fn recorded_before<DB: SqlDb>(
    connection: &mut PoolConnection<DB>,
    group: &[DoorScan],
) -> StorageResult<HashMap<String, ScanRecord>>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'n> &'n str: ColumnIndex<DB::Row> + Encode<'n, DB> + Type<DB>,
    i64: Value<DB>,
    bool: Value<DB>,
    String: Value<DB>,
{
    let mut query = Statement::<DB>::new(format!("SELECT {SCAN_COLUMNS} FROM scans WHERE scan_uuid IN "));
    query.push_list(group.iter().map(|d| d.scan.scan_uuid.as_str()));
    let (sql, arguments) = query.finish()?;
    let rows: Vec<ScanRow> = sqlx::query_as_with(&sql, arguments).fetch_all(&mut **connection).await.db()?;
    rows.into_iter().map(|row| row.record().map(|record| (record.scan_uuid.clone(), record))).collect()
}

/// The head of the statement writing decided scans, before their `push_scan_values`.
pub(super) const INSERT_SCANS: &str = "INSERT INTO scans (scan_uuid, performance_id, ticket_id, barcode, device, login_id, \
                            scanned_at, client_time, server_time, direction, admitted, verdict, offline, anomaly, \
                            device_reason, server_agreed, clock_skew_ms, door_mode) ";

/// Appends to `query` the `VALUES` of `decided` (not empty) for `INSERT_SCANS`, in its
/// columns' order; their records are in `answers`. A scan id recorded meanwhile fails
/// the statement: the group is then decided again, knowing.
pub(super) fn push_scan_values<'a, DB: Database>(query: &mut Statement<'a, DB>, answers: &'a [ScanRecord], decided: &'a [Decided]) -> StorageResult<()>
where
    for<'n> &'n str: Encode<'n, DB> + Type<DB>,
    for<'n> Option<&'n str>: Encode<'n, DB>,
    i64: Value<DB>,
    bool: Value<DB>,
    String: Value<DB>,
    Option<i64>: Value<DB>,
    Option<bool>: Value<DB>,
{
    let mut verdicts = Vec::with_capacity(decided.len());
    for d in decided {
        verdicts.push(verdict_json(&answers[d.answer].verdict)?);
    }
    query.push_values(decided.iter().zip(verdicts), |row, (d, verdict)| {
        let record = &answers[d.answer];
        row.bind(record.scan_uuid.as_str())
            .bind(record.performance.map(|p| p.0))
            .bind(d.ticket_id)
            .bind(record.barcode.as_str())
            .bind(record.device.as_str())
            .bind(d.login)
            .bind(record.scanned_at)
            .bind(d.client_time)
            .bind(record.server_time)
            .bind(record.direction.as_str())
            .bind(record.admitted)
            .bind(verdict)
            .bind(record.offline)
            .bind(record.anomaly.map(Anomaly::as_str))
            .bind(record.device_reason.map(app::sync::protocol::DeviceReason::as_str))
            .bind(record.server_agreed)
            .bind(record.clock_skew_ms)
            .bind(d.door_mode.as_deref());
    });
    Ok(())
}

/// Writes the doors' groups (`door_queue.rs`) on one connection of `pool`, with the dialect's
/// `write_door_group`.
pub(super) struct DoorWriter<D: Dialect> {
    pool: Pool<D::Db>,
    dialect: PhantomData<fn() -> D>,
}

impl<D: Dialect> DoorWriter<D> {
    pub(super) fn new(pool: Pool<D::Db>) -> Self {
        Self { pool, dialect: PhantomData }
    }
}

impl<D: Dialect> WriteGroup for DoorWriter<D> {
    type Connection = PoolConnection<D::Db>;

    async fn connect(&self) -> StorageResult<Self::Connection> {
        self.pool.acquire().await.db()
    }

    async fn write(&self, connection: &mut Self::Connection, group: &[DoorScan]) -> StorageResult<Vec<DoorAnswer>> {
        // Retried scans are rare: looked for only once the insert met one.
        match D::write_door_group(connection, group, false).await {
            Err(StorageError::AlreadyExists) => D::write_door_group(connection, group, true).await,
            done => done,
        }
    }
}

#[async_trait::async_trait]
impl<D: Dialect> ScanStorage for SqlStorage<D>
where
    for<'c> &'c mut Connection<D>: Executor<'c, Database = D::Db>,
    for<'n> &'n str: ColumnIndex<Row<D>> + Encode<'n, D::Db> + Type<D::Db>,
    for<'n> Option<&'n str>: Encode<'n, D::Db>,
    usize: ColumnIndex<Row<D>>,
    i64: Value<D::Db>, i32: Value<D::Db>, bool: Value<D::Db>, String: Value<D::Db>,
    Option<i64>: Value<D::Db>, Option<bool>: Value<D::Db>,
{
    async fn performance_contexts(&self, ids: &[PerformanceId]) -> StorageResult<Vec<PerformanceContext>> {
        let mut contexts = Vec::with_capacity(ids.len());
        for id in ids {
            let row: PerformanceContextRow = sqlx::query_as(
                "SELECT v.institution_id, v.time_zone, p.valid_from, p.valid_to, p.pda_open, i.scan_deadline_ms, p.rules_version \
                 FROM performances p JOIN events e ON e.id = p.event_id JOIN venues v ON v.id = e.venue_id \
                 JOIN institutions i ON i.id = v.institution_id WHERE p.id = $1",
            )
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .db()?
            .ok_or(StorageError::NotFound)?;
            let excluded_categories: Vec<String> = sqlx::query_scalar(
                "SELECT category FROM category_filters WHERE performance_id = $1 ORDER BY category",
            )
            .bind(id.0)
            .fetch_all(&self.pool)
            .await
            .db()?;
            let gates: Vec<(i64, String, String)> =
                sqlx::query_as("SELECT id, name, rules FROM gates WHERE performance_id = $1 ORDER BY id")
                    .bind(id.0)
                    .fetch_all(&self.pool)
                    .await
                    .db()?;
            let gates = gates.into_iter().map(gate_from_row).collect::<StorageResult<_>>()?;
            contexts.push(PerformanceContext {
                id: *id,
                institution: InstitutionId(row.institution_id),
                time_zone: row.time_zone,
                excluded_categories,
                window: window_from(row.valid_from, row.valid_to),
                pda_open: row.pda_open,
                scan_deadline_ms: u32::try_from(row.scan_deadline_ms).unwrap_or(app::sync::protocol::DEFAULT_SCAN_DEADLINE_MS),
                gates: GateSet { rules_version: row.rules_version, gates },
            });
        }
        Ok(contexts)
    }

    async fn upsert_tickets(&self, performance: PerformanceId, tickets: &[NewTicket], now: Millis) -> StorageResult<()> {
        // Six binds a row; 1,000 rows stay under both databases' bind limits.
        const CHUNK: usize = 1_000;
        let mut tx = self.writer.begin().await.db()?;
        for chunk in tickets.chunks(CHUNK) {
            let mut insert = Statement::<D::Db>::new("INSERT INTO tickets (performance_id, barcode, state, category, holder, changed_at) ");
            insert.push_values(chunk, |row, ticket| {
                row.bind(performance.0)
                    .bind(ticket.barcode.as_str())
                    .bind(ticket.state.as_str())
                    .bind(ticket.category.as_str())
                    .bind(ticket.holder.as_deref())
                    .bind(now);
            });
            insert.push(
                " ON CONFLICT (performance_id, barcode) DO UPDATE SET state = excluded.state, \
                 category = excluded.category, holder = excluded.holder, changed_at = excluded.changed_at \
                 WHERE tickets.state IS DISTINCT FROM excluded.state \
                 OR tickets.category IS DISTINCT FROM excluded.category \
                 OR tickets.holder IS DISTINCT FROM excluded.holder",
            );
            let (sql, arguments) = insert.finish()?;
            sqlx::query_with(&sql, arguments).execute(&mut *tx).await.or_missing_row()?;
        }
        tx.commit().await.db()?;
        refresh_statistics_after_import::<D>(&self.writer, tickets.len()).await;
        Ok(())
    }

    async fn record_scans(&self, scans: Vec<DoorScan>) -> Vec<StorageResult<DoorAnswer>> {
        self.doors.record(scans).await
    }

    async fn note_decisions(&self, notes: &[DecisionNote]) -> StorageResult<()> {
        if notes.is_empty() {
            return Ok(());
        }
        let mut tx = self.writer.begin().await.db()?;
        for note in notes {
            let statement = match note {
                DecisionNote::RoundTrip { scan_uuid, round_trip_ms } => sqlx::query(
                    "UPDATE scans SET round_trip_ms = $1 WHERE scan_uuid = $2 AND NOT offline AND round_trip_ms IS NULL",
                )
                .bind(*round_trip_ms)
                .bind(scan_uuid.as_str()),
                DecisionNote::DecidedOnDevice { scan_uuid, reason, server_agreed, clock_skew_ms } => sqlx::query(
                    "UPDATE scans SET offline = $1, device_reason = $2, server_agreed = $3, clock_skew_ms = $4 \
                     WHERE scan_uuid = $5 AND NOT offline",
                )
                .bind(true)
                .bind(reason.as_str())
                .bind(*server_agreed)
                .bind(*clock_skew_ms)
                .bind(scan_uuid.as_str()),
            };
            statement.execute(&mut *tx).await.db()?;
        }
        tx.commit().await.db()?;
        Ok(())
    }

    async fn reflag_passes(&self, tickets: &[(PerformanceId, String)], now: Millis) -> StorageResult<Vec<ScanRecord>> {
        let mut by_performance: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
        for (performance, barcode) in tickets {
            by_performance.entry(performance.0).or_default().push(barcode.as_str());
        }
        let mut tx = self.writer.begin().await.db()?;
        let mut changed: Vec<i64> = Vec::new();
        for (performance, barcodes) in by_performance {
            if let Some(lock) = D::LOCK_TICKETS_FOR_REFLAG {
                // The doors' writes of these tickets wait until their flags are written.
                let mut query = Statement::<D::Db>::new("SELECT ticket_id FROM ticket_figures WHERE ticket_id IN (");
                push_tickets_of(&mut query, performance, &barcodes);
                query.push(") ORDER BY ticket_id").push(lock);
                let (sql, arguments) = query.finish()?;
                sqlx::query_with(&sql, arguments).fetch_all(&mut *tx).await.db()?;
            }
            let mut query = Statement::<D::Db>::new(
                "SELECT s.id, s.ticket_id, s.scanned_at, s.direction, s.device, s.door_mode, s.anomaly, v.time_zone \
                 FROM scans s JOIN performances p ON p.id = s.performance_id JOIN events e ON e.id = p.event_id \
                 JOIN venues v ON v.id = e.venue_id WHERE s.admitted AND s.ticket_id IN (",
            );
            push_tickets_of(&mut query, performance, &barcodes);
            query.push(") ORDER BY s.ticket_id, s.scanned_at, s.id");
            let (sql, arguments) = query.finish()?;
            let rows: Vec<ReflagRow> = sqlx::query_as_with(&sql, arguments).fetch_all(&mut *tx).await.db()?;
            let zone = rows.last().map_or(chrono_tz::UTC, ReflagRow::zone);
            let passes = rows.into_iter().map(ReflagRow::pass).collect::<StorageResult<Vec<_>>>()?;
            for ticket in passes.chunk_by(|a, b| a.1 == b.1) {
                let history: Vec<RecordedPass> = ticket.iter().map(|(_, _, pass)| pass.clone()).collect();
                let flags = reflagged(PerformanceId(performance), zone, &history);
                for ((id, _, pass), flag) in ticket.iter().zip(flags) {
                    if flag == pass.anomaly {
                        continue;
                    }
                    sqlx::query("UPDATE scans SET anomaly = $1, flags_changed_at = $2 WHERE id = $3")
                        .bind(flag.map(Anomaly::as_str))
                        .bind(now)
                        .bind(*id)
                        .execute(&mut *tx)
                        .await
                        .db()?;
                    changed.push(*id);
                }
            }
        }
        let records = match changed.is_empty() {
            true => Vec::new(),
            false => {
                let mut query = Statement::<D::Db>::new(format!("SELECT {SCAN_COLUMNS} FROM scans WHERE id IN "));
                query.push_list(changed).push(" ORDER BY scanned_at, id");
                let (sql, arguments) = query.finish()?;
                let rows: Vec<ScanRow> = sqlx::query_as_with(&sql, arguments).fetch_all(&mut *tx).await.db()?;
                rows.into_iter().map(ScanRow::record).collect::<StorageResult<Vec<_>>>()?
            }
        };
        tx.commit().await.db()?;
        Ok(records)
    }

    async fn performance_tickets(&self, performance: PerformanceId) -> StorageResult<Vec<TicketRow>> {
        let rows: Vec<TicketDeltaRow> = sqlx::query_as(
            "SELECT barcode, performance_id, state, category, holder, changed_at FROM tickets \
             WHERE performance_id = $1 ORDER BY barcode",
        )
        .bind(performance.0)
        .fetch_all(&self.pool)
        .await
        .db()?;
        rows.into_iter().map(TicketDeltaRow::ticket).collect()
    }

    async fn tickets_changed_since(&self, performances: &[PerformanceId], since: Millis) -> StorageResult<Vec<TicketRow>> {
        let mut query = Statement::<D::Db>::new(
            "SELECT barcode, performance_id, state, category, holder, changed_at FROM tickets WHERE changed_at >= ",
        );
        query.push_bind(since).push(" AND performance_id IN ").push_list(performances.iter().map(|p| p.0));
        let (sql, arguments) = query.finish()?;
        let rows: Vec<TicketDeltaRow> = sqlx::query_as_with(&sql, arguments).fetch_all(&self.pool).await.db()?;
        rows.into_iter().map(TicketDeltaRow::ticket).collect()
    }

    async fn scans_since(&self, performances: &[PerformanceId], since: Millis) -> StorageResult<Vec<ScanRecord>> {
        // Two indexed reads rather than one OR, which neither database plans on an index.
        let mut query = Statement::<D::Db>::new(format!("SELECT {SCAN_COLUMNS}, id FROM scans WHERE server_time >= "));
        query.push_bind(since).push(" AND performance_id IN ").push_list(performances.iter().map(|p| p.0));
        query.push(&format!(" UNION SELECT {SCAN_COLUMNS}, id FROM scans WHERE flags_changed_at >= "));
        query.push_bind(since).push(" AND performance_id IN ").push_list(performances.iter().map(|p| p.0));
        query.push(" ORDER BY server_time, id");
        let (sql, arguments) = query.finish()?;
        let rows: Vec<ScanRow> = sqlx::query_as_with(&sql, arguments).fetch_all(&self.pool).await.db()?;
        rows.into_iter().map(ScanRow::record).collect()
    }

    async fn admission_counts(&self, performance: PerformanceId) -> StorageResult<(u64, u64)> {
        self.figures_up_to_date().await?;
        // A ticket that ever entered has a first entry.
        let admitted: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM ticket_figures WHERE performance_id = $1 AND first_entry IS NOT NULL",
        )
        .bind(performance.0)
        .fetch_one(&self.pool)
        .await
        .db()?;
        let countable: i64 = sqlx::query_scalar(COUNTABLE_TICKETS)
        .bind(performance.0)
        .fetch_one(&self.pool)
        .await
        .db()?;
        Ok((u64::try_from(admitted).unwrap_or(0), u64::try_from(countable).unwrap_or(0)))
    }

    async fn record_download(&self, login: LoginId, performance: PerformanceId, at: Millis) -> StorageResult<()> {
        sqlx::query("INSERT INTO device_downloads (login_id, performance_id, downloaded_at) VALUES ($1, $2, $3)")
            .bind(login.0)
            .bind(performance.0)
            .bind(at)
            .execute(&self.writer)
            .await
            .db()?;
        Ok(())
    }
}

/// A stored gate: its rules as JSON, its name from its column.
fn gate_from_row((id, name, rules): (i64, String, String)) -> StorageResult<PerformanceGate> {
    let mut rules: app::engine::Gate = serde_json::from_str(&rules).map_err(|e| StorageError::Database(Box::new(e)))?;
    rules.name = name;
    Ok(PerformanceGate { id: app::ids::GateId(id), rules })
}
