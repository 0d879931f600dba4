//! Sources, attachments, imports and leases: the SQL both databases run, written once, as
//! `source_storage!(Type, Database, RowType)` for a type with `pool` and `writer` fields.

macro_rules! source_storage {
    ($storage:ty, $db:ty, $row:ty) => {
        const SOURCE_COLUMNS: &str = "id, institution_id, kind, name, settings, secrets, long_period, short_period, short_window";

        fn source_row(row: &$row) -> StorageResult<SourceRecord> {
            let kind: String = row.try_get("kind").map_err(database_error)?;
            Ok(SourceRecord {
                id: SourceId(row.try_get("id").map_err(database_error)?),
                institution: InstitutionId(row.try_get("institution_id").map_err(database_error)?),
                kind: SourceKind::parse(&kind)
                    .ok_or_else(|| StorageError::Database(format!("unknown source kind {kind:?}").into()))?,
                name: row.try_get("name").map_err(database_error)?,
                settings: values_from(&row.try_get::<String, _>("settings").map_err(database_error)?)?,
                sealed_secrets: row.try_get("secrets").map_err(database_error)?,
                periods: periods_from(
                    row.try_get("long_period").map_err(database_error)?,
                    row.try_get("short_period").map_err(database_error)?,
                    row.try_get("short_window").map_err(database_error)?,
                ),
            })
        }

        /// What an import finds of a number already in the performance.
        struct StoredTicket {
            source: Option<i64>,
            state: String,
            category: String,
            holder: Option<String>,
            fields: Option<String>,
            /// Kept, with its scans, when its source was detached: the next import takes it.
            detached: bool,
        }

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

        impl $storage {
            /// Writes `tickets` (a number listed twice in a chunk counts as its last row) to the
            /// import journal, chunk by chunk, each in a statement of its own, then marks the
            /// import complete: from then on it will be merged, now or at the next start.
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
                .bind(app::backend::now_millis())
                .fetch_one(&self.writer)
                .await
                .map_err(|e| match &e {
                    sqlx::Error::Database(db) if db.is_foreign_key_violation() => StorageError::NotFound,
                    _ => database_error(e),
                })?;
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
                                .map_err(database_error)?;
                            number += 1;
                            // Lets the doors' writer have the connection between chunks.
                            tokio::task::yield_now().await;
                        }
                    }
                    sqlx::query("UPDATE file_imports SET complete = TRUE WHERE id = $1")
                        .bind(import)
                        .execute(&self.writer)
                        .await
                        .map_err(database_error)
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
                let Some(row) = sqlx::query("SELECT performance_id, source_id, mode, imported_at FROM file_imports WHERE id = $1")
                    .bind(import)
                    .fetch_optional(&self.writer)
                    .await
                    .map_err(database_error)?
                else {
                    return Ok(summary);
                };
                let performance = PerformanceId(row.try_get("performance_id").map_err(database_error)?);
                let source = SourceId(row.try_get("source_id").map_err(database_error)?);
                let mode = import_mode_from(&row.try_get::<String, _>("mode").map_err(database_error)?)?;
                let now: Millis = row.try_get("imported_at").map_err(database_error)?;
                let chunks: Vec<i64> = sqlx::query_scalar("SELECT chunk FROM file_import_chunks WHERE import_id = $1 ORDER BY chunk")
                    .bind(import)
                    .fetch_all(&self.writer)
                    .await
                    .map_err(database_error)?;
                for chunk in chunks {
                    let mut tx = self.writer.begin().await.map_err(database_error)?;
                    let taken: Option<String> =
                        sqlx::query_scalar("DELETE FROM file_import_chunks WHERE import_id = $1 AND chunk = $2 RETURNING tickets")
                            .bind(import)
                            .bind(chunk)
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err(database_error)?;
                    // Merged meanwhile by another process.
                    let Some(text) = taken else { continue };
                    let journal: Vec<JournalTicket> = serde_json::from_str(&text).map_err(|e| StorageError::Database(Box::new(e)))?;
                    let tickets = journal.into_iter().map(JournalTicket::into_ticket).collect::<StorageResult<Vec<_>>>()?;
                    summary.add(self.import_in(&mut tx, performance, source, mode, &tickets, now).await?);
                    tx.commit().await.map_err(database_error)?;
                    tokio::task::yield_now().await;
                }
                sqlx::query("DELETE FROM file_imports WHERE id = $1").bind(import).execute(&self.writer).await.map_err(database_error)?;
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
                    .map_err(database_error)?;
                if abandoned.rows_affected() > 0 {
                    tracing::info!(imports = abandoned.rows_affected(), "imports a stop cut while staging were dropped: run them again");
                }
                let complete: Vec<i64> = sqlx::query_scalar("SELECT id FROM file_imports WHERE complete ORDER BY id")
                    .fetch_all(&self.writer)
                    .await
                    .map_err(database_error)?;
                for import in complete {
                    let summary = self.merge_import(import).await?;
                    tracing::info!(import, ?summary, "an import a stop cut while merging is finished");
                }
                Ok(())
            }

            async fn stored_tickets(
                tx: &mut sqlx::Transaction<'_, $db>,
                performance: PerformanceId,
                barcodes: impl Iterator<Item = &str>,
            ) -> StorageResult<std::collections::HashMap<String, StoredTicket>> {
                let mut query = sqlx::QueryBuilder::<$db>::new(
                    "SELECT barcode, source_id, state, category, holder, fields, detached_at FROM tickets WHERE performance_id = ",
                );
                query.push_bind(performance.0).push(" AND barcode IN (");
                let mut list = query.separated(", ");
                for barcode in barcodes {
                    list.push_bind(barcode.to_owned());
                }
                list.push_unseparated(")");
                // Not a cached prepared statement: PostgreSQL's generic plan for a cached one
                // ignores the performance and scans every ticket, chunk after chunk.
                let rows = query.build().persistent(false).fetch_all(&mut **tx).await.map_err(database_error)?;
                rows.iter()
                    .map(|r| {
                        Ok((
                            r.try_get("barcode").map_err(database_error)?,
                            StoredTicket {
                                source: r.try_get("source_id").map_err(database_error)?,
                                state: r.try_get("state").map_err(database_error)?,
                                category: r.try_get("category").map_err(database_error)?,
                                holder: r.try_get("holder").map_err(database_error)?,
                                fields: r.try_get("fields").map_err(database_error)?,
                                detached: r.try_get::<Option<i64>, _>("detached_at").map_err(database_error)?.is_some(),
                            },
                        ))
                    })
                    .collect()
            }

            /// Tickets already scanned by the partner arrive scanned: one admitted pass each,
            /// unless the ticket has passed here already.
            async fn record_partner_passes(
                tx: &mut sqlx::Transaction<'_, $db>,
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
                    .map_err(database_error)?;
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
                    .map_err(database_error)?;
                    sqlx::query("UPDATE tickets SET changed_at = $2 WHERE id = $1")
                        .bind(ticket)
                        .bind(now)
                        .execute(&mut **tx)
                        .await
                        .map_err(database_error)?;
                }
                Ok(())
            }

            /// Removes tickets a source imported (all performances, or one) but keeps those with
            /// scans, detached; removes the duplicates it recorded, and the category filters left
            /// without any ticket.
            /// Imports tickets inside `tx` (see `SourceStorage::import_tickets`).
            async fn import_in(
                &self,
                tx: &mut sqlx::Transaction<'_, $db>,
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
                    .map_err(database_error)?
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
                            Some(existing) if existing.detached => {
                                summary.added += 1;
                                writes.push((barcode, ticket.state.as_str(), &ticket.category, ticket.holder.as_deref(), &ticket.fields));
                            }
                            Some(existing) if existing.source != Some(source.0) => {
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
                        let mut insert = sqlx::QueryBuilder::<$db>::new(
                            "INSERT INTO tickets (performance_id, barcode, state, category, holder, fields, source_id, changed_at) ",
                        );
                        insert.push_values(&writes, |mut row, (barcode, state, category, holder, fields)| {
                            row.push_bind(performance.0)
                                .push_bind(*barcode)
                                .push_bind(*state)
                                .push_bind(*category)
                                .push_bind(*holder)
                                .push_bind(*fields)
                                .push_bind(source.0)
                                .push_bind(now);
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
                        insert.build().execute(&mut **tx).await.map_err(|e| match &e {
                            sqlx::Error::Database(db) if db.is_foreign_key_violation() => StorageError::NotFound,
                            _ => database_error(e),
                        })?;
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
                        .map_err(database_error)?;
                    }
                    Self::record_partner_passes(tx, performance, source, &device, &scanned, now).await?;
                }
                Ok(summary)
            }

            async fn remove_source_tickets(
                tx: &mut sqlx::Transaction<'_, $db>,
                source: SourceId,
                performance: Option<PerformanceId>,
            ) -> StorageResult<()> {
                let scope = "source_id = $1 AND ($2 IS NULL OR performance_id = $2)";
                // Scanned tickets are kept with their scans, as unknown numbers of no source
                // (migration 0015): history is never erased by configuration. Stamped now, so
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
                        .map_err(database_error)?;
                }
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl app::backend::storage::SourceStorage for $storage {
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
                .map_err(database_error)?;
                Ok(SourceId(id))
            }

            async fn update_source(&self, id: SourceId, source: &NewSource) -> StorageResult<()> {
                let (long, short, window) = periods_millis(source.periods);
                let done = sqlx::query(
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
                .map_err(database_error)?;
                if done.rows_affected() == 0 { Err(StorageError::NotFound) } else { Ok(()) }
            }

            async fn record_events_listed(&self, source: SourceId, seen: u64) -> StorageResult<()> {
                sqlx::query("UPDATE sources SET events_listed = $2 WHERE id = $1")
                    .bind(source.0)
                    .bind(i64::try_from(seen).unwrap_or(i64::MAX))
                    .execute(&self.writer)
                    .await
                    .map_err(database_error)?;
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
                    .map_err(database_error)?;
                Ok(count_from(seen))
            }

            async fn delete_source(&self, id: SourceId) -> StorageResult<()> {
                let mut tx = self.writer.begin().await.map_err(database_error)?;
                Self::remove_source_tickets(&mut tx, id, None).await?;
                let done = sqlx::query("DELETE FROM sources WHERE id = $1")
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(database_error)?;
                if done.rows_affected() == 0 {
                    return Err(StorageError::NotFound);
                }
                tx.commit().await.map_err(database_error)
            }

            async fn source(&self, id: SourceId) -> StorageResult<Option<SourceRecord>> {
                let row = sqlx::query(&format!("SELECT {SOURCE_COLUMNS} FROM sources WHERE id = $1"))
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(database_error)?;
                row.map(|r| source_row(&r)).transpose()
            }

            async fn sources(&self, institution: InstitutionId) -> StorageResult<Vec<SourceRecord>> {
                let rows = sqlx::query(&format!("SELECT {SOURCE_COLUMNS} FROM sources WHERE institution_id = $1 ORDER BY name, id"))
                    .bind(institution.0)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(database_error)?;
                rows.iter().map(source_row).collect()
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
                .map_err(|e| match &e {
                    sqlx::Error::Database(db) if db.is_foreign_key_violation() => StorageError::NotFound,
                    _ => database_error(e),
                })?;
                Ok(())
            }

            async fn detach_source(&self, performance: PerformanceId, source: SourceId) -> StorageResult<()> {
                let mut tx = self.writer.begin().await.map_err(database_error)?;
                Self::remove_source_tickets(&mut tx, source, Some(performance)).await?;
                tx.commit().await.map_err(database_error)
            }

            async fn attachments(&self, performance: PerformanceId) -> StorageResult<Vec<AttachmentView>> {
                let rows = sqlx::query(
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
                .map_err(database_error)?;
                rows.iter()
                    .map(|r| {
                        let kind: String = r.try_get("kind").map_err(database_error)?;
                        Ok(AttachmentView {
                            performance: PerformanceId(r.try_get("performance_id").map_err(database_error)?),
                            source: SourceId(r.try_get("source_id").map_err(database_error)?),
                            kind: SourceKind::parse(&kind)
                                .ok_or_else(|| StorageError::Database(format!("unknown source kind {kind:?}").into()))?,
                            name: r.try_get("name").map_err(database_error)?,
                            options: values_from(&r.try_get::<String, _>("options").map_err(database_error)?)?,
                            running: r.try_get("running").map_err(database_error)?,
                            progress: count_from(r.try_get("progress").map_err(database_error)?),
                            last_refresh_at: r.try_get("last_refresh_at").map_err(database_error)?,
                            last_error: r.try_get("last_error").map_err(database_error)?,
                            push_error: r.try_get("push_error").map_err(database_error)?,
                            tickets: count_from(r.try_get("tickets").map_err(database_error)?),
                            duplicates: count_from(r.try_get("duplicates").map_err(database_error)?),
                            passes: count_from(r.try_get("passes").map_err(database_error)?),
                        })
                    })
                    .collect()
            }

            async fn performances_of_source(&self, source: SourceId) -> StorageResult<Vec<FieldValues>> {
                let rows: Vec<String> = sqlx::query_scalar("SELECT options FROM performance_sources WHERE source_id = $1")
                    .bind(source.0)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(database_error)?;
                rows.iter().map(|json| values_from(json)).collect()
            }

            async fn request_refresh(&self, performance: PerformanceId, source: SourceId, _now: Millis) -> StorageResult<()> {
                // Zero marks a refresh a person asked for: it runs even after the import end.
                let done = sqlx::query("UPDATE performance_sources SET next_refresh_at = 0 WHERE performance_id = $1 AND source_id = $2")
                    .bind(performance.0)
                    .bind(source.0)
                    .execute(&self.writer)
                    .await
                    .map_err(database_error)?;
                if done.rows_affected() == 0 { Err(StorageError::NotFound) } else { Ok(()) }
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
                .map_err(database_error)?;
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
                .map_err(database_error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn release_lease(&self, name: &str, owner: &str) -> StorageResult<()> {
                sqlx::query("DELETE FROM leases WHERE name = $1 AND owner = $2")
                    .bind(name)
                    .bind(owner)
                    .execute(&self.writer)
                    .await
                    .map_err(database_error)?;
                Ok(())
            }

            async fn due_attachments(&self, source: SourceId, now: Millis) -> StorageResult<Vec<DueAttachment>> {
                let rows = sqlx::query(
                    "SELECT a.performance_id, a.options, a.cursor, p.starts_at, p.import_end FROM performance_sources a \
                     JOIN performances p ON p.id = a.performance_id WHERE a.source_id = $1 AND a.next_refresh_at <= $2 \
                     AND (a.next_refresh_at = 0 OR ((p.import_end IS NULL OR p.import_end > $2) AND NOT p.archived)) \
                     ORDER BY a.next_refresh_at, a.performance_id",
                )
                .bind(source.0)
                .bind(now)
                .fetch_all(&self.pool)
                .await
                .map_err(database_error)?;
                rows.iter()
                    .map(|r| {
                        Ok(DueAttachment {
                            performance: PerformanceId(r.try_get("performance_id").map_err(database_error)?),
                            options: values_from(&r.try_get::<String, _>("options").map_err(database_error)?)?,
                            cursor: r.try_get("cursor").map_err(database_error)?,
                            starts_at: r.try_get("starts_at").map_err(database_error)?,
                            import_end: r.try_get("import_end").map_err(database_error)?,
                        })
                    })
                    .collect()
            }

            async fn refresh_started(&self, performance: PerformanceId, source: SourceId) -> StorageResult<()> {
                sqlx::query("UPDATE performance_sources SET running = TRUE, progress = 0 WHERE performance_id = $1 AND source_id = $2")
                    .bind(performance.0)
                    .bind(source.0)
                    .execute(&self.writer)
                    .await
                    .map_err(database_error)?;
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
                .map_err(database_error)?;
                Ok(())
            }

            /// On SQLite, staged in chunks, then merged in chunks (migration 0017): each
            /// transaction is short, so the doors' scans go through between them, and the import
            /// still happens whole or not at all (one stopped while merging finishes at the next
            /// start). On PostgreSQL, in one transaction (`FILE_IMPORT_IN_ONE_TRANSACTION`).
            async fn import_tickets(
                &self,
                performance: PerformanceId,
                source: SourceId,
                mode: ImportMode,
                tickets: &mut (dyn Iterator<Item = Vec<ImportedTicket>> + Send),
                now: Millis,
            ) -> StorageResult<ImportSummary> {
                let (summary, count) = if FILE_IMPORT_IN_ONE_TRANSACTION {
                    let mut tx = self.writer.begin().await.map_err(database_error)?;
                    let (mut summary, mut count) = (ImportSummary::default(), 0);
                    for chunk in tickets {
                        count += chunk.len();
                        summary.add(self.import_in(&mut tx, performance, source, mode, &chunk, now).await?);
                    }
                    tx.commit().await.map_err(database_error)?;
                    (summary, count)
                } else {
                    let (import, count) = self.stage_import(performance, source, mode, tickets, now).await?;
                    (self.merge_import(import).await?, count)
                };
                refresh_statistics_after_import(&self.writer, count).await;
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
                let mut tx = self.writer.begin().await.map_err(database_error)?;
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
                .map_err(database_error)?;
                tx.commit().await.map_err(database_error)?;
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
                let rows = sqlx::query(
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
                .map_err(database_error)?;
                rows.iter()
                    .map(|r| {
                        let verdict: String = r.try_get("verdict").map_err(database_error)?;
                        let refusal = serde_json::from_str::<serde_json::Value>(&verdict)
                            .ok()
                            .and_then(|v| v.get("reason").and_then(|r| r.as_str()).map(str::to_owned));
                        Ok(PendingPush {
                            scan_id: r.try_get("id").map_err(database_error)?,
                            barcode: r.try_get("barcode").map_err(database_error)?,
                            scanned_at: r.try_get("scanned_at").map_err(database_error)?,
                            device: r.try_get("device").map_err(database_error)?,
                            admitted: r.try_get("admitted").map_err(database_error)?,
                            offline: r.try_get("offline").map_err(database_error)?,
                            refusal,
                        })
                    })
                    .collect()
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
                .map_err(database_error)?;
                Ok(())
            }

            async fn pending_cancellations(&self, performance: PerformanceId, source: SourceId, limit: u32) -> StorageResult<Vec<PendingCancellation>> {
                let rows = sqlx::query(
                    "SELECT t.id, t.barcode FROM tickets t JOIN ticket_duplicates d ON d.performance_id = t.performance_id \
                     AND d.barcode = t.barcode AND d.source_id = $2 WHERE t.performance_id = $1 AND t.state = 'cancelled' \
                     AND t.cancellation_pushed_at IS NULL ORDER BY t.id LIMIT $3",
                )
                .bind(performance.0)
                .bind(source.0)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(database_error)?;
                rows.iter()
                    .map(|r| {
                        Ok(PendingCancellation {
                            ticket_id: r.try_get("id").map_err(database_error)?,
                            barcode: r.try_get("barcode").map_err(database_error)?,
                        })
                    })
                    .collect()
            }

            async fn cancellations_pushed(&self, tickets: &[i64], now: Millis) -> StorageResult<()> {
                if tickets.is_empty() {
                    return Ok(());
                }
                let mut update = sqlx::QueryBuilder::<$db>::new("UPDATE tickets SET cancellation_pushed_at = ");
                update.push_bind(now).push(" WHERE state = 'cancelled' AND id IN (");
                let mut list = update.separated(", ");
                for id in tickets {
                    list.push_bind(*id);
                }
                list.push_unseparated(")");
                update.build().execute(&self.writer).await.map_err(database_error)?;
                Ok(())
            }

            async fn attachments_of_kind(&self, kind: SourceKind) -> StorageResult<Vec<(PerformanceId, SourceRecord, FieldValues)>> {
                let rows = sqlx::query(
                    "SELECT a.performance_id, a.options, s.id, s.institution_id, s.kind, s.name, s.settings, s.secrets, \
                     s.long_period, s.short_period, s.short_window FROM performance_sources a JOIN sources s ON s.id = a.source_id \
                     WHERE s.kind = $1 ORDER BY a.performance_id",
                )
                .bind(kind.code())
                .fetch_all(&self.pool)
                .await
                .map_err(database_error)?;
                rows.iter()
                    .map(|r| {
                        Ok((
                            PerformanceId(r.try_get("performance_id").map_err(database_error)?),
                            source_row(r)?,
                            values_from(&r.try_get::<String, _>("options").map_err(database_error)?)?,
                        ))
                    })
                    .collect()
            }
        }
    };
}
