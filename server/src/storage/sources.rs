//! Sources, attachments, imports and leases: the SQL both databases run, written once.

use std::collections::HashMap;

use app::ssr::storage::{
    DueAttachment, ImportMode, ImportedTicket, Millis, NewSource, PendingCancellation, PendingPush, SourceRecord, SourceStorage,
    StorageError, StorageResult,
};
use app::domain::{AttachmentView, FieldValues, ImportSummary, InstitutionId, SourceId, SourceKind};
use app::engine::PerformanceId;
use sqlx::{ColumnIndex, Encode, Executor, Type};

use super::dialect::{Affected, Connection, Dialect, Row, Value};
use super::rows::{AttachmentRow, DueAttachmentRow, FileImportRow, KindSourceRow, PendingCancellationRow, PendingPushRow, SourceRow, StoredTicket};
use super::scanning::refresh_statistics_after_import;
use super::statement::Statement;
use super::shared::{
    PARTNER_SCAN_PREFIX, barcode_from, count_from, last_rows, periods_millis, ticket_state_from, values_json, values_from, verdict_json,
};
use super::{DbResultExt, FoundExt, SqlStorage};

/// The columns of a `SourceRow`.
const SOURCE_COLUMNS: &str = "id, institution_id, kind, name, settings, secrets, long_period, short_period, short_window";

/// A ticket as the import journal keeps it between staging and merging.
#[derive(serde::Serialize, serde::Deserialize)]
struct JournalTicket {
    barcode: String,
    state: String,
    category: String,
    holder: Option<String>,
    fields: String,
    partner_scanned_at: Option<Millis>,
}

impl JournalTicket {
    fn from_ticket(ticket: &ImportedTicket) -> Self {
        Self {
            barcode: ticket.barcode.as_str().to_owned(),
            state: ticket.state.as_str().to_owned(),
            category: ticket.category.clone(),
            holder: ticket.holder.clone(),
            fields: ticket.fields.clone(),
            partner_scanned_at: ticket.partner_scanned_at,
        }
    }

    fn into_ticket(self) -> StorageResult<ImportedTicket> {
        Ok(ImportedTicket {
            barcode: barcode_from(self.barcode)?,
            state: ticket_state_from(&self.state)?,
            category: self.category,
            holder: self.holder,
            fields: self.fields,
            partner_scanned_at: self.partner_scanned_at,
        })
    }
}

fn import_mode_code(mode: ImportMode) -> &'static str {
    match mode {
        ImportMode::Cumulative => "cumulative",
        ImportMode::Mirror => "mirror",
    }
}

fn import_mode_from(code: &str) -> StorageResult<ImportMode> {
    match code {
        "cumulative" => Ok(ImportMode::Cumulative),
        "mirror" => Ok(ImportMode::Mirror),
        other => Err(StorageError::Database(format!("unknown import mode {other:?}").into())),
    }
}

/// Tickets a journal chunk holds: a merge transaction of this many rows holds SQLite's
/// writer for about 15 ms on the reference machine, short enough for the doors.
const JOURNAL_CHUNK: usize = 1_000;

impl<D: Dialect> SqlStorage<D>
where
    for<'c> &'c mut Connection<D>: Executor<'c, Database = D::Db>,
    for<'n> &'n str: ColumnIndex<Row<D>> + Encode<'n, D::Db> + Type<D::Db>,
    for<'n> Option<&'n str>: Encode<'n, D::Db>,
    usize: ColumnIndex<Row<D>>,
    i64: Value<D::Db>, i32: Value<D::Db>, bool: Value<D::Db>, String: Value<D::Db>,
    Option<i64>: Value<D::Db>, Option<bool>: Value<D::Db>,
{
    /// Writes `tickets` (a number listed twice in a chunk counts as its last row) to the
    /// import journal, chunk by chunk, each in a statement of its own, then marks the import
    /// complete: from then on it will be merged, now or at the next start.
    async fn stage_import(
        &self,
        performance: PerformanceId,
        source: SourceId,
        mode: ImportMode,
        tickets: &mut (dyn Iterator<Item = Vec<ImportedTicket>> + Send),
        now: Millis,
    ) -> StorageResult<(i64, usize)> {
        let import: i64 = sqlx::query_scalar(
            "INSERT INTO file_imports (performance_id, source_id, mode, imported_at, staged_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(performance.0)
        .bind(source.0)
        .bind(import_mode_code(mode))
        .bind(now)
        .bind(app::ssr::now_millis())
        .fetch_one(&self.writer)
        .await
        .or_missing_row()?;
        let mut count = 0;
        let staged = async {
            let mut number = 0i64;
            for given in tickets {
                for chunk in last_rows(&given).chunks(JOURNAL_CHUNK) {
                    count += chunk.len();
                    let journal: Vec<JournalTicket> = chunk.iter().map(|t| JournalTicket::from_ticket(t)).collect();
                    let text = serde_json::to_string(&journal).map_err(|e| StorageError::Database(Box::new(e)))?;
                    sqlx::query("INSERT INTO file_import_chunks (import_id, chunk, tickets) VALUES ($1, $2, $3)")
                        .bind(import)
                        .bind(number)
                        .bind(text)
                        .execute(&self.writer)
                        .await
                        .db()?;
                    number += 1;
                    // Lets the doors' writer have the connection between chunks.
                    tokio::task::yield_now().await;
                    D::between_import_chunks(&self.pool).await;
                }
            }
            sqlx::query("UPDATE file_imports SET complete = TRUE WHERE id = $1")
                .bind(import)
                .execute(&self.writer)
                .await
                .db()
        }
        .await;
        if let Err(e) = staged {
            if let Err(cleanup) = sqlx::query("DELETE FROM file_imports WHERE id = $1").bind(import).execute(&self.writer).await {
                tracing::warn!(import, error = %cleanup, "a failed import's journal stays until the next start");
            }
            return Err(e);
        }
        Ok((import, count))
    }

    /// Merges what is left of a complete import into the tickets, a chunk a
    /// transaction; the transaction that merges a chunk deletes it, so each chunk is
    /// merged once whoever merges (after a stop, another process).
    async fn merge_import(&self, import: i64) -> StorageResult<ImportSummary> {
        let mut summary = ImportSummary::default();
        let Some(row): Option<FileImportRow> = sqlx::query_as("SELECT performance_id, source_id, mode, imported_at FROM file_imports WHERE id = $1")
            .bind(import)
            .fetch_optional(&self.writer)
            .await
            .db()?
        else {
            return Ok(summary);
        };
        let (performance, source, now) = (PerformanceId(row.performance_id), SourceId(row.source_id), row.imported_at);
        let mode = import_mode_from(&row.mode)?;
        let chunks: Vec<i64> = sqlx::query_scalar("SELECT chunk FROM file_import_chunks WHERE import_id = $1 ORDER BY chunk")
            .bind(import)
            .fetch_all(&self.writer)
            .await
            .db()?;
        for chunk in chunks {
            let mut tx = self.writer.begin().await.db()?;
            let taken: Option<String> =
                sqlx::query_scalar("DELETE FROM file_import_chunks WHERE import_id = $1 AND chunk = $2 RETURNING tickets")
                    .bind(import)
                    .bind(chunk)
                    .fetch_optional(&mut *tx)
                    .await
                    .db()?;
            // Merged meanwhile by another process.
            let Some(text) = taken else { continue };
            let journal: Vec<JournalTicket> = serde_json::from_str(&text).map_err(|e| StorageError::Database(Box::new(e)))?;
            let tickets = journal.into_iter().map(JournalTicket::into_ticket).collect::<StorageResult<Vec<_>>>()?;
            summary.add(self.import_in(&mut tx, performance, source, mode, &tickets, now).await?);
            tx.commit().await.db()?;
            tokio::task::yield_now().await;
            D::between_import_chunks(&self.pool).await;
        }
        sqlx::query("DELETE FROM file_imports WHERE id = $1").bind(import).execute(&self.writer).await.db()?;
        Ok(summary)
    }

    /// At start: finishes the imports a stop interrupted while merging, and removes those
    /// it interrupted while staging (begun before `abandoned_before`; with several
    /// processes, a younger one may still be staging elsewhere).
    pub(super) async fn finish_interrupted_imports(&self, abandoned_before: Millis) -> StorageResult<()> {
        let abandoned = sqlx::query("DELETE FROM file_imports WHERE NOT complete AND staged_at < $1")
            .bind(abandoned_before)
            .execute(&self.writer)
            .await
            .db()?;
        if abandoned.rows_affected() > 0 {
            tracing::info!(imports = abandoned.rows_affected(), "imports a stop cut while staging were dropped: run them again");
        }
        let complete: Vec<i64> = sqlx::query_scalar("SELECT id FROM file_imports WHERE complete ORDER BY id")
            .fetch_all(&self.writer)
            .await
            .db()?;
        for import in complete {
            let summary = self.merge_import(import).await?;
            tracing::info!(import, ?summary, "an import a stop cut while merging is finished");
        }
        Ok(())
    }

    async fn stored_tickets(
        tx: &mut sqlx::Transaction<'_, D::Db>,
        performance: PerformanceId,
        barcodes: impl Iterator<Item = &str>,
    ) -> StorageResult<HashMap<String, StoredTicket>> {
        let mut query = Statement::<D::Db>::new(
            "SELECT barcode, source_id, state, category, holder, fields, detached_at FROM tickets WHERE performance_id = ",
        );
        query.push_bind(performance.0).push(" AND barcode IN ");
        query.push_list(barcodes.map(str::to_owned));
        // Not a cached prepared statement: PostgreSQL's generic plan for a cached one
        // ignores the performance and scans every ticket, chunk after chunk.
        let (sql, arguments) = query.finish()?;
        let rows: Vec<StoredTicket> = sqlx::query_as_with(&sql, arguments).persistent(false).fetch_all(&mut **tx).await.db()?;
        Ok(rows.into_iter().map(|t| (t.barcode.clone(), t)).collect())
    }

    /// Tickets already scanned by the partner arrive scanned: one admitted pass each,
    /// unless the ticket has passed here already.
    async fn record_partner_passes(
        tx: &mut sqlx::Transaction<'_, D::Db>,
        performance: PerformanceId,
        source: SourceId,
        device: &str,
        scanned: &[(&str, Millis)],
        now: Millis,
    ) -> StorageResult<()> {
        let verdict = verdict_json(&app::engine::Verdict::Accepted { direction: app::engine::Direction::In })?;
        for (barcode, at) in scanned {
            let ticket: Option<i64> = sqlx::query_scalar(
                "SELECT t.id FROM tickets t WHERE t.performance_id = $1 AND t.barcode = $2 AND t.source_id = $3 \
                 AND NOT EXISTS (SELECT 1 FROM scans s WHERE s.ticket_id = t.id AND s.admitted)",
            )
            .bind(performance.0)
            .bind(*barcode)
            .bind(source.0)
            .fetch_optional(&mut **tx)
            .await
            .db()?;
            let Some(ticket) = ticket else { continue };
            sqlx::query(
                "INSERT INTO scans (scan_uuid, performance_id, ticket_id, barcode, device, login_id, scanned_at, \
                 client_time, server_time, direction, admitted, verdict, offline, anomaly) \
                 VALUES ($1, $2, $3, $4, $5, NULL, $6, $6, $7, 'in', TRUE, $8, FALSE, NULL) ON CONFLICT (scan_uuid) DO NOTHING",
            )
            .bind(format!("{PARTNER_SCAN_PREFIX}{}:{ticket}", source.0))
            .bind(performance.0)
            .bind(ticket)
            .bind(*barcode)
            .bind(device)
            .bind(*at)
            .bind(now)
            .bind(&verdict)
            .execute(&mut **tx)
            .await
            .db()?;
            sqlx::query("UPDATE tickets SET changed_at = $2 WHERE id = $1")
                .bind(ticket)
                .bind(now)
                .execute(&mut **tx)
                .await
                .db()?;
        }
        Ok(())
    }

    /// Removes tickets a source imported (all performances, or one) but keeps those with
    /// scans, detached; removes the duplicates it recorded, and the category filters left
    /// without any ticket.
    /// Imports tickets inside `tx` (see `SourceStorage::import_tickets`).
    async fn import_in(
        &self,
        tx: &mut sqlx::Transaction<'_, D::Db>,
        performance: PerformanceId,
        source: SourceId,
        mode: ImportMode,
        tickets: &[ImportedTicket],
        now: Millis,
    ) -> StorageResult<ImportSummary> {
        // Eight binds a row: 500 rows stay under both databases' bind limits.
        const CHUNK: usize = 500;
        let device: String = sqlx::query_scalar("SELECT name FROM sources WHERE id = $1")
            .bind(source.0)
            .fetch_optional(&self.pool)
            .await
            .db()?
            .ok_or(StorageError::NotFound)?;
        let tickets = last_rows(tickets);
        let mut summary = ImportSummary::default();
        for chunk in tickets.chunks(CHUNK) {
            let stored = Self::stored_tickets(tx, performance, chunk.iter().map(|t| t.barcode.as_str())).await?;
            let mut writes: Vec<(&str, &str, &str, Option<&str>, &str)> = Vec::with_capacity(chunk.len());
            let mut duplicates = Vec::new();
            let mut scanned = Vec::new();
            for ticket in chunk {
                let barcode = ticket.barcode.as_str();
                match stored.get(barcode) {
                    None => {
                        summary.added += 1;
                        writes.push((barcode, ticket.state.as_str(), &ticket.category, ticket.holder.as_deref(), &ticket.fields));
                    }
                    // A number whose source was detached comes back with its passes.
                    Some(existing) if existing.detached() => {
                        summary.added += 1;
                        writes.push((barcode, ticket.state.as_str(), &ticket.category, ticket.holder.as_deref(), &ticket.fields));
                    }
                    Some(existing) if existing.source_id != Some(source.0) => {
                        summary.duplicates += 1;
                        duplicates.push(barcode);
                    }
                    Some(existing) => {
                        let write = match mode {
                            ImportMode::Mirror => (barcode, ticket.state.as_str(), ticket.category.as_str(), ticket.holder.as_deref(), ticket.fields.as_str()),
                            // A file only ever cancels what it had added.
                            ImportMode::Cumulative => (
                                barcode,
                                if existing.state == "valid" { ticket.state.as_str() } else { existing.state.as_str() },
                                existing.category.as_str(),
                                existing.holder.as_deref(),
                                existing.fields.as_deref().unwrap_or(&ticket.fields),
                            ),
                        };
                        let unchanged = write.1 == existing.state
                            && write.2 == existing.category
                            && write.3 == existing.holder.as_deref()
                            && Some(write.4) == existing.fields.as_deref();
                        if unchanged {
                            summary.unchanged += 1;
                        } else {
                            summary.updated += 1;
                            writes.push(write);
                        }
                    }
                }
                if let Some(at) = ticket.partner_scanned_at {
                    scanned.push((barcode, at));
                }
            }
            if !writes.is_empty() {
                let mut insert = Statement::<D::Db>::new(
                    "INSERT INTO tickets (performance_id, barcode, state, category, holder, fields, source_id, changed_at) ",
                );
                insert.push_values(&writes, |row, (barcode, state, category, holder, fields)| {
                    row.bind(performance.0)
                        .bind(*barcode)
                        .bind(*state)
                        .bind(*category)
                        .bind(*holder)
                        .bind(*fields)
                        .bind(source.0)
                        .bind(now);
                });
                // Another source's number that landed meanwhile stays as it is; a
                // detached one is taken back.
                insert.push(
                    " ON CONFLICT (performance_id, barcode) DO UPDATE SET state = excluded.state, \
                     category = excluded.category, holder = excluded.holder, fields = excluded.fields, \
                     changed_at = excluded.changed_at, cancellation_pushed_at = CASE WHEN tickets.state = excluded.state \
                     THEN tickets.cancellation_pushed_at END, source_id = excluded.source_id, detached_at = NULL \
                     WHERE tickets.source_id = excluded.source_id OR tickets.detached_at IS NOT NULL",
                );
                let (sql, arguments) = insert.finish()?;
                sqlx::query_with(&sql, arguments).execute(&mut **tx).await.or_missing_row()?;
            }
            for barcode in duplicates {
                sqlx::query(
                    "INSERT INTO ticket_duplicates (performance_id, barcode, source_id, seen_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(performance.0)
                .bind(barcode)
                .bind(source.0)
                .bind(now)
                .execute(&mut **tx)
                .await
                .db()?;
            }
            Self::record_partner_passes(tx, performance, source, &device, &scanned, now).await?;
        }
        Ok(summary)
    }

    async fn remove_source_tickets(
        tx: &mut sqlx::Transaction<'_, D::Db>,
        source: SourceId,
        performance: Option<PerformanceId>,
    ) -> StorageResult<()> {
        let scope = "source_id = $1 AND ($2 IS NULL OR performance_id = $2)";
        // Scanned tickets are kept with their scans, as unknown numbers of no source
        // (`tickets.detached_at`): history is never erased by configuration. Stamped now, so
        // devices hear of the change in their next delta.
        let now = chrono::Utc::now().timestamp_millis();
        let has_scans = "EXISTS (SELECT 1 FROM scans WHERE scans.ticket_id = tickets.id)";
        let statements = [
            format!(
                "UPDATE tickets SET source_id = NULL, state = 'unknown', detached_at = {now}, changed_at = {now} \
                 WHERE {scope} AND {has_scans}"
            ),
            format!("DELETE FROM tickets WHERE {scope} AND NOT {has_scans}"),
            format!("DELETE FROM ticket_duplicates WHERE {scope}"),
            format!(
                "DELETE FROM category_filters WHERE performance_id IN (SELECT performance_id FROM performance_sources \
                 WHERE {scope}) AND category NOT IN (SELECT t.category FROM tickets t \
                 WHERE t.performance_id = category_filters.performance_id)"
            ),
            format!("DELETE FROM performance_sources WHERE {scope}"),
        ];
        for statement in statements {
            sqlx::query(&statement)
                .bind(source.0)
                .bind(performance.map(|p| p.0))
                .execute(&mut **tx)
                .await
                .db()?;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl<D: Dialect> SourceStorage for SqlStorage<D>
where
    for<'c> &'c mut Connection<D>: Executor<'c, Database = D::Db>,
    for<'n> &'n str: ColumnIndex<Row<D>> + Encode<'n, D::Db> + Type<D::Db>,
    for<'n> Option<&'n str>: Encode<'n, D::Db>,
    usize: ColumnIndex<Row<D>>,
    i64: Value<D::Db>, i32: Value<D::Db>, bool: Value<D::Db>, String: Value<D::Db>,
    Option<i64>: Value<D::Db>, Option<bool>: Value<D::Db>,
{
    async fn create_source(&self, source: &NewSource) -> StorageResult<SourceId> {
        let (long, short, window) = periods_millis(source.periods);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO sources (institution_id, kind, name, settings, secrets, long_period, short_period, \
             short_window, file_kind) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(source.institution.0)
        .bind(source.kind.code())
        .bind(&source.name)
        .bind(values_json(&source.settings)?)
        .bind(source.sealed_secrets.as_deref())
        .bind(long)
        .bind(short)
        .bind(window)
        .bind(source.kind.is_file().then(|| source.kind.code()))
        .fetch_one(&self.writer)
        .await
        .db()?;
        Ok(SourceId(id))
    }

    async fn update_source(&self, id: SourceId, source: &NewSource) -> StorageResult<()> {
        let (long, short, window) = periods_millis(source.periods);
        sqlx::query(
            "UPDATE sources SET name = $2, settings = $3, secrets = COALESCE($4, secrets), long_period = $5, \
             short_period = $6, short_window = $7 WHERE id = $1",
        )
        .bind(id.0)
        .bind(&source.name)
        .bind(values_json(&source.settings)?)
        .bind(source.sealed_secrets.as_deref())
        .bind(long)
        .bind(short)
        .bind(window)
        .execute(&self.writer)
        .await
        .found()
    }

    async fn record_events_listed(&self, source: SourceId, seen: u64) -> StorageResult<()> {
        sqlx::query("UPDATE sources SET events_listed = $2 WHERE id = $1")
            .bind(source.0)
            .bind(i64::try_from(seen).unwrap_or(i64::MAX))
            .execute(&self.writer)
            .await
            .db()?;
        Ok(())
    }

    async fn events_listed(&self, institution: InstitutionId) -> StorageResult<u64> {
        // SUM of a BIGINT is a NUMERIC on PostgreSQL: cast back.
        let seen: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(events_listed), 0) AS BIGINT) FROM sources WHERE institution_id = $1",
        )
            .bind(institution.0)
            .fetch_one(&self.pool)
            .await
            .db()?;
        Ok(count_from(seen))
    }

    async fn delete_source(&self, id: SourceId) -> StorageResult<()> {
        let mut tx = self.writer.begin().await.db()?;
        Self::remove_source_tickets(&mut tx, id, None).await?;
        let done = sqlx::query("DELETE FROM sources WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .db()?;
        if done.rows_affected() == 0 {
            return Err(StorageError::NotFound);
        }
        tx.commit().await.db()
    }

    async fn source(&self, id: SourceId) -> StorageResult<Option<SourceRecord>> {
        let row: Option<SourceRow> = sqlx::query_as(&format!("SELECT {SOURCE_COLUMNS} FROM sources WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .db()?;
        row.map(SourceRow::record).transpose()
    }

    async fn sources(&self, institution: InstitutionId) -> StorageResult<Vec<SourceRecord>> {
        let rows: Vec<SourceRow> = sqlx::query_as(&format!("SELECT {SOURCE_COLUMNS} FROM sources WHERE institution_id = $1 ORDER BY name, id"))
            .bind(institution.0)
            .fetch_all(&self.pool)
            .await
            .db()?;
        rows.into_iter().map(SourceRow::record).collect()
    }

    async fn attach_source(&self, performance: PerformanceId, source: SourceId, options: &FieldValues, now: Millis) -> StorageResult<()> {
        sqlx::query(
            "INSERT INTO performance_sources (performance_id, source_id, options, next_refresh_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (performance_id, source_id) DO UPDATE SET options = excluded.options",
        )
        .bind(performance.0)
        .bind(source.0)
        .bind(values_json(options)?)
        .bind(now)
        .execute(&self.writer)
        .await
        .or_missing_row()?;
        Ok(())
    }

    async fn detach_source(&self, performance: PerformanceId, source: SourceId) -> StorageResult<()> {
        let mut tx = self.writer.begin().await.db()?;
        Self::remove_source_tickets(&mut tx, source, Some(performance)).await?;
        tx.commit().await.db()
    }

    async fn attachments(&self, performance: PerformanceId) -> StorageResult<Vec<AttachmentView>> {
        let rows: Vec<AttachmentRow> = sqlx::query_as(
            "SELECT a.performance_id, a.source_id, s.kind, s.name, a.options, a.running, a.progress, \
             a.last_refresh_at, a.last_error, a.push_error, \
             (SELECT COUNT(*) FROM tickets t WHERE t.performance_id = a.performance_id AND t.source_id = a.source_id) AS tickets, \
             (SELECT COUNT(*) FROM ticket_duplicates d WHERE d.performance_id = a.performance_id AND d.source_id = a.source_id) AS duplicates, \
             (SELECT COUNT(*) FROM scans sc JOIN tickets t ON t.id = sc.ticket_id \
              WHERE t.performance_id = a.performance_id AND t.source_id = a.source_id AND sc.admitted) AS passes \
             FROM performance_sources a JOIN sources s ON s.id = a.source_id WHERE a.performance_id = $1 ORDER BY s.name, s.id",
        )
        .bind(performance.0)
        .fetch_all(&self.pool)
        .await
        .db()?;
        rows.into_iter().map(AttachmentRow::view).collect()
    }

    async fn performances_of_source(&self, source: SourceId) -> StorageResult<Vec<FieldValues>> {
        let rows: Vec<String> = sqlx::query_scalar("SELECT options FROM performance_sources WHERE source_id = $1")
            .bind(source.0)
            .fetch_all(&self.pool)
            .await
            .db()?;
        rows.iter().map(|json| values_from(json)).collect()
    }

    async fn request_refresh(&self, performance: PerformanceId, source: SourceId, _now: Millis) -> StorageResult<()> {
        // Zero marks a refresh a person asked for: it runs even after the import end.
        sqlx::query("UPDATE performance_sources SET next_refresh_at = 0 WHERE performance_id = $1 AND source_id = $2")
            .bind(performance.0)
            .bind(source.0)
            .execute(&self.writer)
            .await
        .found()
    }

    async fn due_sources(&self, now: Millis) -> StorageResult<Vec<SourceId>> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT a.source_id FROM performance_sources a JOIN sources s ON s.id = a.source_id \
             JOIN performances p ON p.id = a.performance_id \
             WHERE s.file_kind IS NULL AND a.next_refresh_at <= $1 \
             AND (a.next_refresh_at = 0 OR ((p.import_end IS NULL OR p.import_end > $1) AND NOT p.archived)) \
             GROUP BY a.source_id ORDER BY MIN(a.next_refresh_at)",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .db()?;
        Ok(ids.into_iter().map(SourceId).collect())
    }

    async fn try_lease(&self, name: &str, owner: &str, now: Millis, until: Millis) -> StorageResult<bool> {
        let done = sqlx::query(
            "INSERT INTO leases (name, owner, until) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE \
             SET owner = excluded.owner, until = excluded.until WHERE leases.until < $4 OR leases.owner = excluded.owner",
        )
        .bind(name)
        .bind(owner)
        .bind(until)
        .bind(now)
        .execute(&self.writer)
        .await
        .db()?;
        Ok(done.rows_affected() == 1)
    }

    async fn release_lease(&self, name: &str, owner: &str) -> StorageResult<()> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND owner = $2")
            .bind(name)
            .bind(owner)
            .execute(&self.writer)
            .await
            .db()?;
        Ok(())
    }

    async fn due_attachments(&self, source: SourceId, now: Millis) -> StorageResult<Vec<DueAttachment>> {
        let rows: Vec<DueAttachmentRow> = sqlx::query_as(
            "SELECT a.performance_id, a.options, a.cursor, p.starts_at, p.import_end FROM performance_sources a \
             JOIN performances p ON p.id = a.performance_id WHERE a.source_id = $1 AND a.next_refresh_at <= $2 \
             AND (a.next_refresh_at = 0 OR ((p.import_end IS NULL OR p.import_end > $2) AND NOT p.archived)) \
             ORDER BY a.next_refresh_at, a.performance_id",
        )
        .bind(source.0)
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .db()?;
        rows.into_iter().map(DueAttachmentRow::attachment).collect()
    }

    async fn refresh_started(&self, performance: PerformanceId, source: SourceId) -> StorageResult<()> {
        sqlx::query("UPDATE performance_sources SET running = TRUE, progress = 0 WHERE performance_id = $1 AND source_id = $2")
            .bind(performance.0)
            .bind(source.0)
            .execute(&self.writer)
            .await
            .db()?;
        Ok(())
    }

    async fn refresh_finished(
        &self,
        performance: PerformanceId,
        source: SourceId,
        error: Option<&str>,
        next_refresh_at: Millis,
        now: Millis,
    ) -> StorageResult<()> {
        sqlx::query(
            "UPDATE performance_sources SET running = FALSE, last_refresh_at = $3, last_error = $4, next_refresh_at = $5 \
             WHERE performance_id = $1 AND source_id = $2",
        )
        .bind(performance.0)
        .bind(source.0)
        .bind(now)
        .bind(error)
        .bind(next_refresh_at)
        .execute(&self.writer)
        .await
        .db()?;
        Ok(())
    }

    /// On SQLite, staged in chunks, then merged in chunks (the import journal): each
    /// transaction is short, so the doors' scans go through between them, and the import
    /// still happens whole or not at all (one stopped while merging finishes at the next
    /// start). On PostgreSQL, in one transaction (`Dialect::FILE_IMPORT_IN_ONE_TRANSACTION`).
    async fn import_tickets(
        &self,
        performance: PerformanceId,
        source: SourceId,
        mode: ImportMode,
        tickets: &mut (dyn Iterator<Item = Vec<ImportedTicket>> + Send),
        now: Millis,
    ) -> StorageResult<ImportSummary> {
        let (summary, count) = if D::FILE_IMPORT_IN_ONE_TRANSACTION {
            let mut tx = self.writer.begin().await.db()?;
            let (mut summary, mut count) = (ImportSummary::default(), 0);
            for chunk in tickets {
                count += chunk.len();
                summary.add(self.import_in(&mut tx, performance, source, mode, &chunk, now).await?);
            }
            tx.commit().await.db()?;
            (summary, count)
        } else {
            let (import, count) = self.stage_import(performance, source, mode, tickets, now).await?;
            (self.merge_import(import).await?, count)
        };
        refresh_statistics_after_import::<D>(&self.writer, count).await;
        Ok(summary)
    }

    async fn import_page(
        &self,
        performance: PerformanceId,
        source: SourceId,
        tickets: &[ImportedTicket],
        cursor: Option<&str>,
        progress: u64,
        now: Millis,
    ) -> StorageResult<ImportSummary> {
        let mut tx = self.writer.begin().await.db()?;
        let summary = self.import_in(&mut tx, performance, source, ImportMode::Mirror, tickets, now).await?;
        sqlx::query(
            "UPDATE performance_sources SET cursor = COALESCE($3, cursor), progress = $4 WHERE performance_id = $1 AND source_id = $2",
        )
        .bind(performance.0)
        .bind(source.0)
        .bind(cursor)
        .bind(i64::try_from(progress).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await
        .db()?;
        tx.commit().await.db()?;
        Ok(summary)
    }

    async fn pending_pushes(
        &self,
        performance: PerformanceId,
        source: SourceId,
        settled: Millis,
        limit: u32,
        with_refusals: bool,
    ) -> StorageResult<Vec<PendingPush>> {
        let rows: Vec<PendingPushRow> = sqlx::query_as(
            "SELECT s.id, s.barcode, s.scanned_at, s.device, s.admitted, s.offline, s.verdict FROM performance_sources a \
             JOIN tickets t ON t.performance_id = a.performance_id \
             JOIN scans s ON s.ticket_id = t.id \
             WHERE a.performance_id = $1 AND a.source_id = $2 AND (t.source_id = a.source_id OR EXISTS (SELECT 1 \
             FROM ticket_duplicates d WHERE d.performance_id = t.performance_id AND d.barcode = t.barcode \
             AND d.source_id = a.source_id)) AND (s.admitted OR $5) AND s.id > a.pushed_scan_id \
             AND s.server_time < $3 AND s.scan_uuid NOT LIKE 'partner:%' ORDER BY s.id LIMIT $4",
        )
        .bind(performance.0)
        .bind(source.0)
        .bind(settled)
        .bind(i64::from(limit))
        .bind(with_refusals)
        .fetch_all(&self.pool)
        .await
        .db()?;
        Ok(rows.into_iter().map(PendingPushRow::push).collect())
    }

    async fn pushed(&self, performance: PerformanceId, source: SourceId, up_to_scan: i64, error: Option<&str>) -> StorageResult<()> {
        sqlx::query(
            "UPDATE performance_sources SET pushed_scan_id = CASE WHEN pushed_scan_id > $3 THEN pushed_scan_id ELSE $3 END, \
             push_error = $4 WHERE performance_id = $1 AND source_id = $2",
        )
        .bind(performance.0)
        .bind(source.0)
        .bind(up_to_scan)
        .bind(error)
        .execute(&self.writer)
        .await
        .db()?;
        Ok(())
    }

    async fn pending_cancellations(&self, performance: PerformanceId, source: SourceId, limit: u32) -> StorageResult<Vec<PendingCancellation>> {
        let rows: Vec<PendingCancellationRow> = sqlx::query_as(
            "SELECT t.id, t.barcode FROM tickets t JOIN ticket_duplicates d ON d.performance_id = t.performance_id \
             AND d.barcode = t.barcode AND d.source_id = $2 WHERE t.performance_id = $1 AND t.state = 'cancelled' \
             AND t.cancellation_pushed_at IS NULL ORDER BY t.id LIMIT $3",
        )
        .bind(performance.0)
        .bind(source.0)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .db()?;
        Ok(rows.into_iter().map(PendingCancellationRow::cancellation).collect())
    }

    async fn cancellations_pushed(&self, tickets: &[i64], now: Millis) -> StorageResult<()> {
        if tickets.is_empty() {
            return Ok(());
        }
        let mut update = Statement::<D::Db>::new("UPDATE tickets SET cancellation_pushed_at = ");
        update.push_bind(now).push(" WHERE state = 'cancelled' AND id IN ").push_list(tickets.iter().copied());
        let (sql, arguments) = update.finish()?;
        sqlx::query_with(&sql, arguments).execute(&self.writer).await.db()?;
        Ok(())
    }

    async fn attachments_of_kind(&self, kind: SourceKind) -> StorageResult<Vec<(PerformanceId, SourceRecord, FieldValues)>> {
        let rows: Vec<KindSourceRow> = sqlx::query_as(
            "SELECT a.performance_id, a.options, s.id, s.institution_id, s.kind, s.name, s.settings, s.secrets, \
             s.long_period, s.short_period, s.short_window FROM performance_sources a JOIN sources s ON s.id = a.source_id \
             WHERE s.kind = $1 ORDER BY a.performance_id",
        )
        .bind(kind.code())
        .fetch_all(&self.pool)
        .await
        .db()?;
        rows.into_iter().map(KindSourceRow::attachment).collect()
    }
}
