//! Venues, events and performances: the SQL both databases run, written once, as
//! `show_storage!(Type)` for a type with `pool` and `writer` fields.

macro_rules! show_storage {
    ($storage:ty) => {
        #[async_trait::async_trait]
        impl app::backend::storage::ShowStorage for $storage {
            async fn create_venue(&self, institution: InstitutionId, name: &str, time_zone: &str) -> StorageResult<VenueId> {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO venues (institution_id, name, time_zone) VALUES ($1, $2, $3) RETURNING id",
                )
                .bind(institution.0)
                .bind(name)
                .bind(time_zone)
                .fetch_one(&self.writer)
                .await
                .map_err(database_error)?;
                Ok(VenueId(id))
            }

            async fn create_event(&self, venue: VenueId, name: &str) -> StorageResult<EventId> {
                let id: i64 = sqlx::query_scalar("INSERT INTO events (venue_id, name) VALUES ($1, $2) RETURNING id")
                    .bind(venue.0)
                    .bind(name)
                    .fetch_one(&self.writer)
                    .await
                    .map_err(database_error)?;
                Ok(EventId(id))
            }

            async fn create_performance(&self, performance: &NewPerformance) -> StorageResult<PerformanceId> {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO performances (event_id, label, starts_at, valid_from, valid_to, import_end) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(performance.event.0)
                .bind(&performance.label)
                .bind(performance.starts_at)
                .bind(performance.window.map(|w| w.0))
                .bind(performance.window.map(|w| w.1))
                .bind(performance.import_end)
                .fetch_one(&self.writer)
                .await
                .map_err(database_error)?;
                Ok(PerformanceId(id))
            }

            async fn rename_venue(&self, venue: VenueId, name: &str) -> StorageResult<()> {
                let done = sqlx::query("UPDATE venues SET name = $2 WHERE id = $1")
                    .bind(venue.0)
                    .bind(name)
                    .execute(&self.writer)
                    .await
                    .map_err(database_error)?;
                if done.rows_affected() == 0 { Err(StorageError::NotFound) } else { Ok(()) }
            }

            async fn rename_event(&self, event: EventId, name: &str) -> StorageResult<()> {
                let done = sqlx::query("UPDATE events SET name = $2 WHERE id = $1")
                    .bind(event.0)
                    .bind(name)
                    .execute(&self.writer)
                    .await
                    .map_err(database_error)?;
                if done.rows_affected() == 0 { Err(StorageError::NotFound) } else { Ok(()) }
            }

            async fn update_performance(
                &self,
                performance: PerformanceId,
                label: &str,
                starts_at: Option<Millis>,
                window: Option<(Millis, Millis)>,
                import_end: Option<Millis>,
            ) -> StorageResult<()> {
                let done = sqlx::query(
                    "UPDATE performances SET label = $2, starts_at = $3, valid_from = $4, valid_to = $5, import_end = $6 WHERE id = $1",
                )
                .bind(performance.0)
                .bind(label)
                .bind(starts_at)
                .bind(window.map(|w| w.0))
                .bind(window.map(|w| w.1))
                .bind(import_end)
                .execute(&self.writer)
                .await
                .map_err(database_error)?;
                if done.rows_affected() == 0 { Err(StorageError::NotFound) } else { Ok(()) }
            }

            async fn set_pda_open(&self, performance: PerformanceId, open: bool) -> StorageResult<()> {
                let done = sqlx::query("UPDATE performances SET pda_open = $1 WHERE id = $2")
                    .bind(open)
                    .bind(performance.0)
                    .execute(&self.writer)
                    .await
                    .map_err(database_error)?;
                if done.rows_affected() == 0 { Err(StorageError::NotFound) } else { Ok(()) }
            }

            async fn set_archived(&self, performance: PerformanceId, archived: bool) -> StorageResult<()> {
                let done = sqlx::query("UPDATE performances SET archived = $1 WHERE id = $2")
                    .bind(archived)
                    .bind(performance.0)
                    .execute(&self.writer)
                    .await
                    .map_err(database_error)?;
                if done.rows_affected() == 0 { Err(StorageError::NotFound) } else { Ok(()) }
            }

            async fn purge_performances(&self, before: Millis) -> StorageResult<Vec<PerformanceId>> {
                // Archived ones only: a date typed two years back by mistake deletes nothing.
                const DUE: &str = "SELECT id FROM performances WHERE archived AND COALESCE(valid_to, starts_at) < $1";
                let mut tx = self.writer.begin().await.map_err(database_error)?;
                let due: Vec<i64> = sqlx::query_scalar(DUE).bind(before).fetch_all(&mut *tx).await.map_err(database_error)?;
                for table in ["scans", "ticket_duplicates", "tickets", "category_filters", "performance_sources", "device_downloads"] {
                    sqlx::query(&format!("DELETE FROM {table} WHERE performance_id IN ({DUE})"))
                        .bind(before)
                        .execute(&mut *tx)
                        .await
                        .map_err(database_error)?;
                }
                sqlx::query(&format!("DELETE FROM performances WHERE id IN ({DUE})"))
                    .bind(before)
                    .execute(&mut *tx)
                    .await
                    .map_err(database_error)?;
                tx.commit().await.map_err(database_error)?;
                Ok(due.into_iter().map(PerformanceId).collect())
            }

            async fn downloads(&self, from: Millis, to: Millis) -> StorageResult<Vec<app::backend::storage::DownloadRecord>> {
                let rows = sqlx::query(
                    "SELECT d.downloaded_at, i.name AS institution, l.name AS login FROM device_downloads d \
                     JOIN logins l ON l.id = d.login_id JOIN performances p ON p.id = d.performance_id \
                     JOIN events e ON e.id = p.event_id JOIN venues v ON v.id = e.venue_id \
                     JOIN institutions i ON i.id = v.institution_id \
                     WHERE d.downloaded_at >= $1 AND d.downloaded_at < $2 ORDER BY d.downloaded_at",
                )
                .bind(from)
                .bind(to)
                .fetch_all(&self.pool)
                .await
                .map_err(database_error)?;
                rows.iter()
                    .map(|r| {
                        Ok(app::backend::storage::DownloadRecord {
                            at: r.try_get("downloaded_at").map_err(database_error)?,
                            institution: r.try_get("institution").map_err(database_error)?,
                            login: r.try_get("login").map_err(database_error)?,
                        })
                    })
                    .collect()
            }

            async fn set_category_filters(&self, performance: PerformanceId, categories: &[String]) -> StorageResult<()> {
                let mut tx = self.writer.begin().await.map_err(database_error)?;
                sqlx::query("DELETE FROM category_filters WHERE performance_id = $1")
                    .bind(performance.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(database_error)?;
                for category in categories {
                    sqlx::query("INSERT INTO category_filters (performance_id, category) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                        .bind(performance.0)
                        .bind(category)
                        .execute(&mut *tx)
                        .await
                        .map_err(database_error)?;
                }
                tx.commit().await.map_err(database_error)
            }

            async fn venues(&self, institution: InstitutionId) -> StorageResult<Vec<VenueRecord>> {
                let rows = sqlx::query("SELECT id, name, time_zone FROM venues WHERE institution_id = $1 ORDER BY name")
                    .bind(institution.0)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(database_error)?;
                rows.iter()
                    .map(|r| {
                        Ok(VenueRecord {
                            id: VenueId(r.try_get("id").map_err(database_error)?),
                            name: r.try_get("name").map_err(database_error)?,
                            time_zone: r.try_get("time_zone").map_err(database_error)?,
                        })
                    })
                    .collect()
            }

            async fn venue_institution(&self, venue: VenueId) -> StorageResult<Option<(InstitutionId, String)>> {
                let row = sqlx::query("SELECT institution_id, time_zone FROM venues WHERE id = $1")
                    .bind(venue.0)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(database_error)?;
                row.map(|r| {
                    Ok((
                        InstitutionId(r.try_get("institution_id").map_err(database_error)?),
                        r.try_get("time_zone").map_err(database_error)?,
                    ))
                })
                .transpose()
            }

            async fn events(&self, institution: InstitutionId) -> StorageResult<Vec<EventRecord>> {
                let rows = sqlx::query(
                    "SELECT e.id, e.venue_id, e.name FROM events e JOIN venues v ON v.id = e.venue_id \
                     WHERE v.institution_id = $1 ORDER BY e.name",
                )
                .bind(institution.0)
                .fetch_all(&self.pool)
                .await
                .map_err(database_error)?;
                rows.iter()
                    .map(|r| {
                        Ok(EventRecord {
                            id: EventId(r.try_get("id").map_err(database_error)?),
                            venue: VenueId(r.try_get("venue_id").map_err(database_error)?),
                            name: r.try_get("name").map_err(database_error)?,
                        })
                    })
                    .collect()
            }

            async fn event_place(&self, event: EventId) -> StorageResult<Option<(InstitutionId, String)>> {
                let row = sqlx::query(
                    "SELECT v.institution_id, v.time_zone FROM events e JOIN venues v ON v.id = e.venue_id WHERE e.id = $1",
                )
                .bind(event.0)
                .fetch_optional(&self.pool)
                .await
                .map_err(database_error)?;
                row.map(|r| {
                    Ok((
                        InstitutionId(r.try_get("institution_id").map_err(database_error)?),
                        r.try_get("time_zone").map_err(database_error)?,
                    ))
                })
                .transpose()
            }

            async fn performance_categories(&self, performance: PerformanceId) -> StorageResult<Vec<(String, bool)>> {
                let rows = sqlx::query(
                    "SELECT c.category, EXISTS (SELECT 1 FROM category_filters f \
                       WHERE f.performance_id = $1 AND f.category = c.category) AS excluded \
                     FROM (SELECT DISTINCT category FROM tickets WHERE performance_id = $1) c ORDER BY c.category",
                )
                .bind(performance.0)
                .fetch_all(&self.pool)
                .await
                .map_err(database_error)?;
                rows.iter()
                    .map(|r| Ok((r.try_get("category").map_err(database_error)?, r.try_get("excluded").map_err(database_error)?)))
                    .collect()
            }

            async fn performance_grid(&self, institution: InstitutionId, with_archived: bool) -> StorageResult<Vec<GridRow>> {
                self.figures_up_to_date().await?;
                let rows = sqlx::query(
                    "SELECT p.id, p.label, p.starts_at, p.valid_from, p.valid_to, p.import_end, p.pda_open, p.archived, \
                     e.name AS event_name, v.name AS venue_name, v.time_zone, \
                     (SELECT COUNT(*) FROM ticket_figures f WHERE f.performance_id = p.id AND f.first_entry IS NOT NULL) AS admitted, \
                     (SELECT COUNT(*) FROM tickets t WHERE t.performance_id = p.id AND t.state = 'valid') \
                     + (SELECT COUNT(*) FROM tickets t WHERE t.performance_id = p.id AND t.state <> 'valid' \
                        AND EXISTS (SELECT 1 FROM ticket_figures f WHERE f.ticket_id = t.id AND f.first_entry IS NOT NULL)) AS total \
                     FROM performances p JOIN events e ON e.id = p.event_id JOIN venues v ON v.id = e.venue_id \
                     WHERE v.institution_id = $1 AND (NOT p.archived OR $2) \
                     ORDER BY COALESCE(p.starts_at, p.valid_from), p.id",
                )
                .bind(institution.0)
                .bind(with_archived)
                .fetch_all(&self.pool)
                .await
                .map_err(database_error)?;
                rows.iter()
                    .map(|r| {
                        let from: Option<i64> = r.try_get("valid_from").map_err(database_error)?;
                        let to: Option<i64> = r.try_get("valid_to").map_err(database_error)?;
                        Ok(GridRow {
                            performance: PerformanceId(r.try_get("id").map_err(database_error)?),
                            venue: r.try_get("venue_name").map_err(database_error)?,
                            event: r.try_get("event_name").map_err(database_error)?,
                            label: r.try_get("label").map_err(database_error)?,
                            starts_at: r.try_get("starts_at").map_err(database_error)?,
                            window: from.zip(to),
                            import_end: r.try_get("import_end").map_err(database_error)?,
                            time_zone: r.try_get("time_zone").map_err(database_error)?,
                            pda_open: r.try_get("pda_open").map_err(database_error)?,
                            archived: r.try_get("archived").map_err(database_error)?,
                            admitted: u64::try_from(r.try_get::<i64, _>("admitted").map_err(database_error)?).unwrap_or(0),
                            total: u64::try_from(r.try_get::<i64, _>("total").map_err(database_error)?).unwrap_or(0),
                        })
                    })
                    .collect()
            }
        }
    };
}
