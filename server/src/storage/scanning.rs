//! Performances, tickets and scans: the SQL both databases run, written once, as
//! `scan_storage!(Type, Database, RowType)` for a type with `pool` and `writer` fields, the
//! `ADMIT` statement of its dialect in scope (the one statement that differs), and an
//! `admit(Admission)` method that runs it (each backend commits it its own way).

macro_rules! scan_storage {
    ($storage:ty, $db:ty, $row:ty) => {
        /// `… IN ($a, $b, …)` over ids, for statements built with a `QueryBuilder`.
        fn push_ids(query: &mut sqlx::QueryBuilder<'_, $db>, ids: impl IntoIterator<Item = i64>) {
            query.push("(");
            let mut list = query.separated(", ");
            for id in ids {
                list.push_bind(id);
            }
            list.push_unseparated(")");
        }

        fn ticket_row(row: &$row) -> StorageResult<TicketRow> {
            Ok(TicketRow {
                barcode: barcode_from(row.try_get("barcode").map_err(database_error)?)?,
                performance: PerformanceId(row.try_get("performance_id").map_err(database_error)?),
                state: ticket_state_from(&row.try_get::<String, _>("state").map_err(database_error)?)?,
                category: row.try_get("category").map_err(database_error)?,
                holder: row.try_get("holder").map_err(database_error)?,
                changed_at: row.try_get("changed_at").map_err(database_error)?,
            })
        }

        fn scan_row(row: &$row) -> StorageResult<ScanRecord> {
            Ok(ScanRecord {
                scan_uuid: row.try_get("scan_uuid").map_err(database_error)?,
                performance: row.try_get::<Option<i64>, _>("performance_id").map_err(database_error)?.map(PerformanceId),
                barcode: row.try_get("barcode").map_err(database_error)?,
                device: row.try_get("device").map_err(database_error)?,
                scanned_at: row.try_get("scanned_at").map_err(database_error)?,
                server_time: row.try_get("server_time").map_err(database_error)?,
                direction: direction_from(&row.try_get::<String, _>("direction").map_err(database_error)?)?,
                admitted: row.try_get("admitted").map_err(database_error)?,
                verdict: verdict_from(&row.try_get::<String, _>("verdict").map_err(database_error)?)?,
                offline: row.try_get("offline").map_err(database_error)?,
                anomaly: row.try_get::<Option<String>, _>("anomaly").map_err(database_error)?.as_deref().and_then(Anomaly::parse),
            })
        }

        /// A ticket found for a scan: its row id, what the engine needs, and the pass version
        /// the decision is made on.
        struct FoundTicket {
            id: i64,
            ticket: Ticket,
            passes: Vec<Pass>,
            version: i64,
        }

        /// One statement: the scan is written, and an admission only if the ticket's pass
        /// version is still the one it was decided on (compare-and-set).
        fn admit_statement(
            admission: &Admission,
        ) -> StorageResult<sqlx::query::Query<'_, $db, <$db as sqlx::Database>::Arguments<'_>>> {
            let record = &admission.record;
            Ok(sqlx::query(ADMIT)
                .bind(&record.scan_uuid)
                .bind(record.performance.map(|p| p.0))
                .bind(admission.ticket_id)
                .bind(&record.barcode)
                .bind(&record.device)
                .bind(admission.login)
                .bind(record.scanned_at)
                .bind(admission.client_time)
                .bind(record.server_time)
                .bind(record.direction.as_str())
                .bind(record.admitted)
                .bind(verdict_json(&record.verdict)?)
                .bind(record.offline)
                .bind(record.anomaly.map(Anomaly::as_str))
                .bind(admission.version))
        }

        const SCAN_COLUMNS: &str = "scan_uuid, performance_id, barcode, device, scanned_at, server_time, \
                                    direction, admitted, verdict, offline, anomaly";

        impl $storage {
            /// The ticket a door sees for a number, with its passes oldest first: in a
            /// controlled performance first, else in another performance of the same
            /// institutions (so the door can say which). One round trip each.
            async fn find_ticket(
                &self,
                institutions: &[InstitutionId],
                performances: &[PerformanceId],
                barcode: &Barcode,
            ) -> StorageResult<Option<FoundTicket>> {
                const COLUMNS: &str = "SELECT t.id, t.performance_id, t.state, t.category, t.pass_version, \
                                       p.valid_from, p.valid_to, s.scanned_at, s.direction, s.device \
                                       FROM tickets t JOIN performances p ON p.id = t.performance_id \
                                       LEFT JOIN scans s ON s.ticket_id = t.id AND s.admitted ";
                const ORDER: &str = " ORDER BY t.id, s.scanned_at, s.id";
                let mut controlled = sqlx::QueryBuilder::<$db>::new(COLUMNS);
                controlled.push("WHERE t.barcode = ").push_bind(barcode.as_str()).push(" AND t.performance_id IN ");
                push_ids(&mut controlled, performances.iter().map(|p| p.0));
                controlled.push(ORDER);
                let mut rows = controlled.build().fetch_all(&self.pool).await.map_err(database_error)?;
                if rows.is_empty() && !institutions.is_empty() {
                    let mut elsewhere = sqlx::QueryBuilder::<$db>::new(COLUMNS);
                    elsewhere
                        .push("JOIN events e ON e.id = p.event_id JOIN venues v ON v.id = e.venue_id WHERE t.barcode = ")
                        .push_bind(barcode.as_str())
                        .push(" AND v.institution_id IN ");
                    push_ids(&mut elsewhere, institutions.iter().map(|i| i.0));
                    elsewhere.push(ORDER);
                    rows = elsewhere.build().fetch_all(&self.pool).await.map_err(database_error)?;
                }
                let Some(first) = rows.first() else { return Ok(None) };
                let id: i64 = first.try_get("id").map_err(database_error)?;
                let ticket = Ticket {
                    performance: PerformanceId(first.try_get("performance_id").map_err(database_error)?),
                    state: ticket_state_from(&first.try_get::<String, _>("state").map_err(database_error)?)?,
                    category: first.try_get("category").map_err(database_error)?,
                    window: window_from(
                        first.try_get("valid_from").map_err(database_error)?,
                        first.try_get("valid_to").map_err(database_error)?,
                    ),
                };
                let mut passes = Vec::new();
                for row in &rows {
                    // Two performances under control sharing a number: the first ticket wins.
                    if row.try_get::<i64, _>("id").map_err(database_error)? != id {
                        break;
                    }
                    if let Some(at) = row.try_get::<Option<i64>, _>("scanned_at").map_err(database_error)? {
                        passes.push(Pass {
                            at: time_from(at)?,
                            direction: direction_from(&row.try_get::<String, _>("direction").map_err(database_error)?)?,
                            device: row.try_get("device").map_err(database_error)?,
                        });
                    }
                }
                Ok(Some(FoundTicket { id, ticket, passes, version: first.try_get("pass_version").map_err(database_error)? }))
            }

            async fn scan_by_uuid(&self, scan_uuid: &str) -> StorageResult<Option<ScanRecord>> {
                let row = sqlx::query(&format!("SELECT {SCAN_COLUMNS} FROM scans WHERE scan_uuid = $1"))
                    .bind(scan_uuid)
                    .fetch_optional(&self.writer)
                    .await
                    .map_err(database_error)?;
                row.map(|r| scan_row(&r)).transpose()
            }
        }

        #[async_trait::async_trait]
        impl app::backend::storage::ScanStorage for $storage {
            async fn performance_contexts(&self, ids: &[PerformanceId]) -> StorageResult<Vec<PerformanceContext>> {
                let mut contexts = Vec::with_capacity(ids.len());
                for id in ids {
                    let row = sqlx::query(
                        "SELECT v.institution_id, v.time_zone, p.valid_from, p.valid_to, p.pda_open FROM performances p \
                         JOIN events e ON e.id = p.event_id JOIN venues v ON v.id = e.venue_id WHERE p.id = $1",
                    )
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(database_error)?
                    .ok_or(StorageError::NotFound)?;
                    let excluded_categories: Vec<String> = sqlx::query_scalar(
                        "SELECT category FROM category_filters WHERE performance_id = $1 ORDER BY category",
                    )
                    .bind(id.0)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(database_error)?;
                    contexts.push(PerformanceContext {
                        id: *id,
                        institution: InstitutionId(row.try_get("institution_id").map_err(database_error)?),
                        time_zone: row.try_get("time_zone").map_err(database_error)?,
                        excluded_categories,
                        window: window_from(
                            row.try_get("valid_from").map_err(database_error)?,
                            row.try_get("valid_to").map_err(database_error)?,
                        ),
                        pda_open: row.try_get("pda_open").map_err(database_error)?,
                    });
                }
                Ok(contexts)
            }

            async fn upsert_tickets(&self, performance: PerformanceId, tickets: &[NewTicket], now: Millis) -> StorageResult<()> {
                // Six binds a row; 1,000 rows stay under both databases' bind limits.
                const CHUNK: usize = 1_000;
                let mut tx = self.writer.begin().await.map_err(database_error)?;
                for chunk in tickets.chunks(CHUNK) {
                    let mut insert = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO tickets (performance_id, barcode, state, category, holder, changed_at) ",
                    );
                    insert.push_values(chunk, |mut row, ticket| {
                        row.push_bind(performance.0)
                            .push_bind(ticket.barcode.as_str())
                            .push_bind(ticket.state.as_str())
                            .push_bind(ticket.category.as_str())
                            .push_bind(ticket.holder.as_deref())
                            .push_bind(now);
                    });
                    insert.push(
                        " ON CONFLICT (performance_id, barcode) DO UPDATE SET state = excluded.state, \
                         category = excluded.category, holder = excluded.holder, changed_at = excluded.changed_at \
                         WHERE tickets.state IS DISTINCT FROM excluded.state \
                         OR tickets.category IS DISTINCT FROM excluded.category \
                         OR tickets.holder IS DISTINCT FROM excluded.holder",
                    );
                    insert.build().execute(&mut *tx).await.map_err(|e| match &e {
                        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StorageError::NotFound,
                        _ => database_error(e),
                    })?;
                }
                tx.commit().await.map_err(database_error)
            }

            async fn record_scan(
                &self,
                institutions: &[InstitutionId],
                performances: &[PerformanceId],
                scan: &NewScan,
                judge: Judge<'_>,
            ) -> StorageResult<ScanRecord> {
                loop {
                    let found = self.find_ticket(institutions, performances, &scan.barcode).await?;
                    let judgement = judge(found.as_ref().map(|f| &f.ticket), found.as_ref().map_or(&[], |f| &f.passes));
                    let record = ScanRecord {
                        scan_uuid: scan.scan_uuid.clone(),
                        performance: found.as_ref().map(|f| f.ticket.performance),
                        barcode: scan.barcode.to_string(),
                        device: scan.device.clone(),
                        scanned_at: scan.scanned_at,
                        server_time: scan.server_time,
                        direction: scan.direction,
                        admitted: judgement.admitted,
                        verdict: judgement.verdict,
                        offline: scan.offline,
                        anomaly: judgement.anomaly,
                    };
                    let admission = Admission {
                        record,
                        ticket_id: found.as_ref().map(|f| f.id),
                        login: scan.login.map(|l| l.0),
                        client_time: scan.client_time,
                        version: found.as_ref().map_or(0, |f| f.version),
                    };
                    if let Some(written) = self.admit(admission).await? {
                        return Ok(written);
                    }
                    // Either this scan id was recorded before (a retry: answer as the first
                    // time), or another admission of the ticket landed first: decide again.
                    if let Some(first) = self.scan_by_uuid(&scan.scan_uuid).await? {
                        return Ok(first);
                    }
                }
            }

            async fn performance_tickets(&self, performance: PerformanceId) -> StorageResult<Vec<TicketRow>> {
                let rows = sqlx::query(
                    "SELECT barcode, performance_id, state, category, holder, changed_at FROM tickets \
                     WHERE performance_id = $1 ORDER BY barcode",
                )
                .bind(performance.0)
                .fetch_all(&self.pool)
                .await
                .map_err(database_error)?;
                rows.iter().map(ticket_row).collect()
            }

            async fn tickets_changed_since(&self, performances: &[PerformanceId], since: Millis) -> StorageResult<Vec<TicketRow>> {
                let mut query = sqlx::QueryBuilder::<$db>::new(
                    "SELECT barcode, performance_id, state, category, holder, changed_at FROM tickets WHERE changed_at >= ",
                );
                query.push_bind(since).push(" AND performance_id IN ");
                push_ids(&mut query, performances.iter().map(|p| p.0));
                let rows = query.build().fetch_all(&self.pool).await.map_err(database_error)?;
                rows.iter().map(ticket_row).collect()
            }

            async fn scans_since(&self, performances: &[PerformanceId], since: Millis) -> StorageResult<Vec<ScanRecord>> {
                let mut query = sqlx::QueryBuilder::<$db>::new(format!("SELECT {SCAN_COLUMNS} FROM scans WHERE server_time >= "));
                query.push_bind(since).push(" AND performance_id IN ");
                push_ids(&mut query, performances.iter().map(|p| p.0));
                query.push(" ORDER BY server_time, id");
                let rows = query.build().fetch_all(&self.pool).await.map_err(database_error)?;
                rows.iter().map(scan_row).collect()
            }

            async fn admission_counts(&self, performance: PerformanceId) -> StorageResult<(u64, u64)> {
                // A ticket that ever entered carries its first entry (migration 0007).
                let admitted: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM tickets WHERE performance_id = $1 AND first_entry IS NOT NULL",
                )
                .bind(performance.0)
                .fetch_one(&self.pool)
                .await
                .map_err(database_error)?;
                let countable: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM tickets WHERE performance_id = $1 AND state = 'valid'",
                )
                .bind(performance.0)
                .fetch_one(&self.pool)
                .await
                .map_err(database_error)?;
                Ok((u64::try_from(admitted).unwrap_or(0), u64::try_from(countable).unwrap_or(0)))
            }

            async fn record_download(&self, login: LoginId, performance: PerformanceId, at: Millis) -> StorageResult<()> {
                sqlx::query("INSERT INTO device_downloads (login_id, performance_id, downloaded_at) VALUES ($1, $2, $3)")
                    .bind(login.0)
                    .bind(performance.0)
                    .bind(at)
                    .execute(&self.writer)
                    .await
                    .map_err(database_error)?;
                Ok(())
            }
        }
    };
}
