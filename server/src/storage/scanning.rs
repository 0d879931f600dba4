//! Performances, tickets and scans: the SQL both databases run, written once, as
//! `scan_storage!(Type, Database, RowType)` for a type with `pool`, `writer` and `doors`
//! (a `DoorQueue`) fields, and its dialect's `write_door_group` in scope: how a group of door
//! scans is decided and written as one atomic step, in how many round trips.

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
                client_time: row.try_get("client_time").map_err(database_error)?,
                round_trip_ms: row.try_get("round_trip_ms").map_err(database_error)?,
                device_reason: row
                    .try_get::<Option<String>, _>("device_reason")
                    .map_err(database_error)?
                    .as_deref()
                    .and_then(app::sync::protocol::DeviceReason::parse),
                server_agreed: row.try_get("server_agreed").map_err(database_error)?,
                clock_skew_ms: row.try_get("clock_skew_ms").map_err(database_error)?,
            })
        }

        /// A performance's tickets the gauge counts: those that may enter, and those that
        /// entered before they were cancelled (so admitted never exceeds the total).
        const COUNTABLE_TICKETS: &str = "SELECT (SELECT COUNT(*) FROM tickets WHERE performance_id = $1 AND state = 'valid') \
             + (SELECT COUNT(*) FROM tickets t WHERE t.performance_id = $1 AND t.state <> 'valid' \
                AND EXISTS (SELECT 1 FROM ticket_figures f WHERE f.ticket_id = t.id AND f.first_entry IS NOT NULL))";

        const SCAN_COLUMNS: &str = "scan_uuid, performance_id, barcode, device, scanned_at, server_time, \
                                    direction, admitted, verdict, offline, anomaly, client_time, round_trip_ms, \
                                    device_reason, server_agreed, clock_skew_ms";

        /// After an import of `imported` tickets, a bulk one, refreshes the planner's statistics
        /// (`AFTER_BULK_IMPORT`) rather than waiting for the autovacuum: until then they describe
        /// the tables before the import, and the doors' statements are planned on them.
        /// Statistics only: a failure costs speed, never tickets.
        async fn refresh_statistics_after_import(pool: &sqlx::Pool<$db>, imported: usize) {
            if let (true, Some(statement)) = (imported >= BULK_IMPORT, AFTER_BULK_IMPORT) {
                if let Err(e) = sqlx::query(statement).execute(pool).await {
                    tracing::warn!(error = %e, "statistics not refreshed after an import");
                }
            }
        }

        /// A ticket a scan of the group may be about, with its passes oldest first.
        struct Candidate {
            id: i64,
            barcode: String,
            institution: i64,
            ticket: Ticket,
            passes: Vec<Pass>,
        }

        /// `FROM … WHERE` over the tickets any scan of `group` may be about (its numbers in the
        /// doors' performances, or elsewhere in their institutions), with their passes and
        /// `extra_joins`. A number found in the doors' performances is not looked for elsewhere:
        /// the door decides on that ticket (`ticket_for`), and a ticket of another performance
        /// would only add rows to read (a series' tickets often share their numbers from one
        /// performance to the next).
        fn push_group_tickets(query: &mut sqlx::QueryBuilder<'_, $db>, group: &[DoorScan], extra_joins: &str) {
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
            query.push(" WHERE t.barcode IN (");
            let mut list = query.separated(", ");
            for barcode in barcodes {
                list.push_bind(barcode.to_owned());
            }
            list.push_unseparated(") AND (t.performance_id IN ");
            push_ids(query, performances.iter().copied());
            query.push(" OR v.institution_id IN ");
            push_ids(query, institutions);
            query.push(
                " AND NOT EXISTS (SELECT 1 FROM tickets controlled \
                 WHERE controlled.barcode = t.barcode AND controlled.performance_id IN ",
            );
            push_ids(query, performances);
            query.push("))");
        }

        /// Appends to `query` the statement reading the tickets `group` may be about, as stored.
        /// `extra_columns` (", …") and the `extra_joins` they read are the dialect's own.
        fn push_candidates_query(query: &mut sqlx::QueryBuilder<'_, $db>, group: &[DoorScan], extra_columns: &str, extra_joins: &str) {
            query.push(
                "SELECT t.id, t.barcode, v.institution_id, t.performance_id, t.state, t.category, \
                 p.valid_from, p.valid_to, s.scanned_at, s.direction, s.device",
            );
            query.push(extra_columns);
            push_group_tickets(query, group, extra_joins);
            query.push(" ORDER BY t.id, s.scanned_at, s.id");
        }

        fn candidates_from(rows: &[$row]) -> StorageResult<Vec<Candidate>> {
            let mut candidates: Vec<Candidate> = Vec::new();
            for row in rows {
                let id: i64 = row.try_get("id").map_err(database_error)?;
                if candidates.last().is_none_or(|c| c.id != id) {
                    candidates.push(Candidate {
                        id,
                        barcode: row.try_get("barcode").map_err(database_error)?,
                        institution: row.try_get("institution_id").map_err(database_error)?,
                        ticket: Ticket {
                            performance: PerformanceId(row.try_get("performance_id").map_err(database_error)?),
                            state: ticket_state_from(&row.try_get::<String, _>("state").map_err(database_error)?)?,
                            category: row.try_get("category").map_err(database_error)?,
                            window: window_from(
                                row.try_get("valid_from").map_err(database_error)?,
                                row.try_get("valid_to").map_err(database_error)?,
                            ),
                        },
                        passes: Vec::new(),
                    });
                }
                if let (Some(at), Some(candidate)) =
                    (row.try_get::<Option<i64>, _>("scanned_at").map_err(database_error)?, candidates.last_mut())
                {
                    candidate.passes.push(Pass {
                        at: time_from(at)?,
                        direction: direction_from(&row.try_get::<String, _>("direction").map_err(database_error)?)?,
                        device: row.try_get("device").map_err(database_error)?,
                    });
                }
            }
            Ok(candidates)
        }

        /// The ticket a door sees for its scan: in a controlled performance first, else in
        /// another performance of its institutions (so the door can say which). Two tickets
        /// sharing a number at one door: the first imported wins. `candidates` are by id.
        fn ticket_for(candidates: &[Candidate], door_scan: &DoorScan) -> Option<usize> {
            let number = door_scan.scan.barcode.as_str();
            let of_number = || candidates.iter().enumerate().filter(move |(_, c)| c.barcode == number);
            of_number()
                .find(|(_, c)| door_scan.performances.contains(&c.ticket.performance))
                .or_else(|| of_number().find(|(_, c)| door_scan.institutions.iter().any(|i| i.0 == c.institution)))
                .map(|(index, _)| index)
        }

        /// Scans of `group` recorded before (retries), by scan id.
        async fn recorded_before(
            connection: &mut <$db as sqlx::Database>::Connection,
            group: &[DoorScan],
        ) -> StorageResult<HashMap<String, ScanRecord>> {
            let mut query = sqlx::QueryBuilder::<$db>::new(format!("SELECT {SCAN_COLUMNS} FROM scans WHERE scan_uuid IN ("));
            let mut list = query.separated(", ");
            for door_scan in group {
                list.push_bind(door_scan.scan.scan_uuid.clone());
            }
            list.push_unseparated(")");
            let rows = query.build().fetch_all(&mut *connection).await.map_err(database_error)?;
            rows.iter().map(|row| scan_row(row).map(|record| (record.scan_uuid.clone(), record))).collect()
        }

        /// A decided scan to write: its record (an index into the group's answers) and its
        /// ticket's row.
        struct Decided {
            answer: usize,
            ticket_id: Option<i64>,
            login: Option<i64>,
            client_time: Millis,
            /// The door's rules, as JSON.
            door_mode: Option<String>,
        }

        /// Decides each scan of `group` in order, on `candidates` as stored plus the
        /// admissions before it in the group. Scans in `recorded` (retries), or met earlier in
        /// the group, are answered with their first record. Returns every scan's answer, and
        /// what to write.
        fn decide_group(
            group: &[DoorScan],
            mut candidates: Vec<Candidate>,
            recorded: HashMap<String, ScanRecord>,
        ) -> StorageResult<(Vec<ScanRecord>, Vec<Decided>)> {
            let mut answers: Vec<ScanRecord> = Vec::with_capacity(group.len());
            let mut decided = Vec::with_capacity(group.len());
            let mut decided_here: HashMap<&str, usize> = HashMap::new();
            for door_scan in group {
                let scan = &door_scan.scan;
                if let Some(first) = recorded.get(&scan.scan_uuid) {
                    answers.push(first.clone());
                    continue;
                }
                if let Some(&first) = decided_here.get(scan.scan_uuid.as_str()) {
                    answers.push(answers[first].clone());
                    continue;
                }
                let found = ticket_for(&candidates, door_scan);
                let judgement = match found {
                    Some(index) => (door_scan.judge)(Some(&candidates[index].ticket), &candidates[index].passes),
                    None => (door_scan.judge)(None, &[]),
                };
                if let (Some(index), true) = (found, judgement.admitted) {
                    let pass = Pass { at: time_from(scan.scanned_at)?, direction: scan.direction, device: scan.device.clone() };
                    let passes = &mut candidates[index].passes;
                    let position = passes.partition_point(|p| p.at <= pass.at);
                    passes.insert(position, pass);
                }
                decided_here.insert(&scan.scan_uuid, answers.len());
                decided.push(Decided {
                    answer: answers.len(),
                    ticket_id: found.map(|index| candidates[index].id),
                    login: scan.login.map(|l| l.0),
                    client_time: scan.client_time,
                    door_mode: scan.door_mode.map(|mode| serde_json::to_string(&mode)).transpose().map_err(|e| StorageError::Database(Box::new(e)))?,
                });
                answers.push(ScanRecord {
                    scan_uuid: scan.scan_uuid.clone(),
                    performance: found.map(|index| candidates[index].ticket.performance),
                    barcode: scan.barcode.to_string(),
                    device: scan.device.clone(),
                    scanned_at: scan.scanned_at,
                    server_time: scan.server_time,
                    direction: scan.direction,
                    admitted: judgement.admitted,
                    verdict: judgement.verdict,
                    offline: scan.offline,
                    anomaly: judgement.anomaly,
                    client_time: scan.client_time,
                    round_trip_ms: None,
                    device_reason: scan.device_reason,
                    server_agreed: judgement.server_agreed,
                    clock_skew_ms: scan.clock_skew_ms,
                });
            }
            Ok((answers, decided))
        }

        /// The head of the statement writing decided scans, before their `push_scan_values`.
        const INSERT_SCANS: &str = "INSERT INTO scans (scan_uuid, performance_id, ticket_id, barcode, device, login_id, \
                                    scanned_at, client_time, server_time, direction, admitted, verdict, offline, anomaly, \
                                    device_reason, server_agreed, clock_skew_ms, door_mode) ";

        /// Appends to `query` the `VALUES` of `decided` (not empty) for `INSERT_SCANS`, in its
        /// columns' order; their records are in `answers`. A scan id recorded meanwhile fails
        /// the statement: the group is then decided again, knowing.
        fn push_scan_values(query: &mut sqlx::QueryBuilder<'_, $db>, answers: &[ScanRecord], decided: &[Decided]) -> StorageResult<()> {
            let mut verdicts = Vec::with_capacity(decided.len());
            for d in decided {
                verdicts.push(verdict_json(&answers[d.answer].verdict)?);
            }
            query.push_values(decided.iter().zip(verdicts), |mut row, (d, verdict)| {
                let record = &answers[d.answer];
                row.push_bind(record.scan_uuid.clone())
                    .push_bind(record.performance.map(|p| p.0))
                    .push_bind(d.ticket_id)
                    .push_bind(record.barcode.clone())
                    .push_bind(record.device.clone())
                    .push_bind(d.login)
                    .push_bind(record.scanned_at)
                    .push_bind(d.client_time)
                    .push_bind(record.server_time)
                    .push_bind(record.direction.as_str())
                    .push_bind(record.admitted)
                    .push_bind(verdict)
                    .push_bind(record.offline)
                    .push_bind(record.anomaly.map(Anomaly::as_str))
                    .push_bind(record.device_reason.map(app::sync::protocol::DeviceReason::as_str))
                    .push_bind(record.server_agreed)
                    .push_bind(record.clock_skew_ms)
                    .push_bind(d.door_mode.clone());
            });
            Ok(())
        }

        /// Writes the doors' groups (`door_queue.rs`) on one connection of `pool`, with the
        /// dialect's `write_door_group`.
        struct DoorWriter {
            pool: sqlx::Pool<$db>,
        }

        impl super::door_queue::WriteGroup for DoorWriter {
            type Connection = sqlx::pool::PoolConnection<$db>;

            async fn connect(&self) -> StorageResult<Self::Connection> {
                self.pool.acquire().await.map_err(database_error)
            }

            async fn write(&self, connection: &mut Self::Connection, group: &[DoorScan]) -> StorageResult<Vec<ScanRecord>> {
                // Retried scans are rare: looked for only once the insert met one.
                match write_door_group(connection, group, false).await {
                    Err(StorageError::AlreadyExists) => write_door_group(connection, group, true).await,
                    done => done,
                }
            }
        }

        #[async_trait::async_trait]
        impl app::backend::storage::ScanStorage for $storage {
            async fn performance_contexts(&self, ids: &[PerformanceId]) -> StorageResult<Vec<PerformanceContext>> {
                let mut contexts = Vec::with_capacity(ids.len());
                for id in ids {
                    let row = sqlx::query(
                        "SELECT v.institution_id, v.time_zone, p.valid_from, p.valid_to, p.pda_open, i.scan_deadline_ms \
                         FROM performances p JOIN events e ON e.id = p.event_id JOIN venues v ON v.id = e.venue_id \
                         JOIN institutions i ON i.id = v.institution_id WHERE p.id = $1",
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
                        scan_deadline_ms: u32::try_from(row.try_get::<i32, _>("scan_deadline_ms").map_err(database_error)?)
                            .unwrap_or(app::sync::protocol::DEFAULT_SCAN_DEADLINE_MS),
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
                tx.commit().await.map_err(database_error)?;
                refresh_statistics_after_import(&self.writer, tickets.len()).await;
                Ok(())
            }

            async fn record_scans(&self, scans: Vec<DoorScan>) -> Vec<StorageResult<ScanRecord>> {
                self.doors.record(scans).await
            }

            async fn note_decisions(&self, notes: &[DecisionNote]) -> StorageResult<()> {
                if notes.is_empty() {
                    return Ok(());
                }
                let mut tx = self.writer.begin().await.map_err(database_error)?;
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
                    statement.execute(&mut *tx).await.map_err(database_error)?;
                }
                tx.commit().await.map_err(database_error)?;
                Ok(())
            }

            async fn reflag_passes(&self, tickets: &[(PerformanceId, String)], now: Millis) -> StorageResult<Vec<ScanRecord>> {
                let mut by_performance: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
                for (performance, barcode) in tickets {
                    by_performance.entry(performance.0).or_default().push(barcode.as_str());
                }
                let mut tx = self.writer.begin().await.map_err(database_error)?;
                let mut changed: Vec<i64> = Vec::new();
                for (performance, barcodes) in by_performance {
                    let of_tickets = |query: &mut sqlx::QueryBuilder<'_, $db>| {
                        query.push("SELECT id FROM tickets WHERE performance_id = ").push_bind(performance).push(" AND barcode IN (");
                        let mut list = query.separated(", ");
                        for barcode in &barcodes {
                            list.push_bind(barcode.to_string());
                        }
                        list.push_unseparated(")");
                    };
                    if let Some(lock) = LOCK_TICKETS_FOR_REFLAG {
                        // The doors' writes of these tickets wait until their flags are written.
                        let mut query = sqlx::QueryBuilder::<$db>::new("SELECT ticket_id FROM ticket_figures WHERE ticket_id IN (");
                        of_tickets(&mut query);
                        query.push(") ORDER BY ticket_id").push(lock);
                        query.build().fetch_all(&mut *tx).await.map_err(database_error)?;
                    }
                    let mut query = sqlx::QueryBuilder::<$db>::new(
                        "SELECT s.id, s.ticket_id, s.scanned_at, s.direction, s.device, s.door_mode, s.anomaly, v.time_zone \
                         FROM scans s JOIN performances p ON p.id = s.performance_id JOIN events e ON e.id = p.event_id \
                         JOIN venues v ON v.id = e.venue_id WHERE s.admitted AND s.ticket_id IN (",
                    );
                    of_tickets(&mut query);
                    query.push(") ORDER BY s.ticket_id, s.scanned_at, s.id");
                    let rows = query.build().fetch_all(&mut *tx).await.map_err(database_error)?;
                    let mut passes: Vec<(i64, i64, RecordedPass)> = Vec::with_capacity(rows.len());
                    let mut zone = chrono_tz::UTC;
                    for row in &rows {
                        let mode: Option<String> = row.try_get("door_mode").map_err(database_error)?;
                        let anomaly: Option<String> = row.try_get("anomaly").map_err(database_error)?;
                        let time_zone: String = row.try_get("time_zone").map_err(database_error)?;
                        zone = time_zone.parse().unwrap_or(chrono_tz::UTC);
                        passes.push((
                            row.try_get("id").map_err(database_error)?,
                            row.try_get("ticket_id").map_err(database_error)?,
                            RecordedPass {
                                at: row.try_get("scanned_at").map_err(database_error)?,
                                direction: direction_from(&row.try_get::<String, _>("direction").map_err(database_error)?)?,
                                device: row.try_get("device").map_err(database_error)?,
                                mode: mode.and_then(|m| serde_json::from_str(&m).ok()),
                                anomaly: anomaly.as_deref().and_then(Anomaly::parse),
                            },
                        ));
                    }
                    for ticket in passes.chunk_by(|a, b| a.1 == b.1) {
                        let history: Vec<RecordedPass> = ticket.iter().map(|(_, _, pass)| pass.clone()).collect();
                        let flags = app::sync::reflag::reflagged(PerformanceId(performance), zone, &history);
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
                                .map_err(database_error)?;
                            changed.push(*id);
                        }
                    }
                }
                let records = match changed.is_empty() {
                    true => Vec::new(),
                    false => {
                        let mut query = sqlx::QueryBuilder::<$db>::new(format!("SELECT {SCAN_COLUMNS} FROM scans WHERE id IN "));
                        push_ids(&mut query, changed);
                        query.push(" ORDER BY scanned_at, id");
                        let rows = query.build().fetch_all(&mut *tx).await.map_err(database_error)?;
                        rows.iter().map(scan_row).collect::<StorageResult<Vec<_>>>()?
                    }
                };
                tx.commit().await.map_err(database_error)?;
                Ok(records)
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
                // Two indexed reads rather than one OR, which neither database plans on an index.
                let mut query = sqlx::QueryBuilder::<$db>::new(format!("SELECT {SCAN_COLUMNS}, id FROM scans WHERE server_time >= "));
                query.push_bind(since).push(" AND performance_id IN ");
                push_ids(&mut query, performances.iter().map(|p| p.0));
                query.push(format!(" UNION SELECT {SCAN_COLUMNS}, id FROM scans WHERE flags_changed_at >= "));
                query.push_bind(since).push(" AND performance_id IN ");
                push_ids(&mut query, performances.iter().map(|p| p.0));
                query.push(" ORDER BY server_time, id");
                let rows = query.build().fetch_all(&self.pool).await.map_err(database_error)?;
                rows.iter().map(scan_row).collect()
            }

            async fn admission_counts(&self, performance: PerformanceId) -> StorageResult<(u64, u64)> {
                self.figures_up_to_date().await?;
                // A ticket that ever entered has a first entry (migration 0011).
                let admitted: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM ticket_figures WHERE performance_id = $1 AND first_entry IS NOT NULL",
                )
                .bind(performance.0)
                .fetch_one(&self.pool)
                .await
                .map_err(database_error)?;
                let countable: i64 = sqlx::query_scalar(COUNTABLE_TICKETS)
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
