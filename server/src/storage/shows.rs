//! Venues, events and performances: the SQL both databases run, written once.

use app::ssr::storage::{DownloadRecord, Millis, NewPerformance, ShowStorage, StorageResult};
use app::domain::{EventId, EventRecord, GridRow, InstitutionId, VenueId, VenueRecord};
use app::engine::{Gate, PerformanceId};
use app::ids::GateId;
use sqlx::{ColumnIndex, Encode, Executor, Type};

use super::dialect::{Connection, Dialect, Row, Value};
use super::rows::{DownloadRow, EventRow, GridRowRow, VenueRow};
use super::{DbResultExt, FoundExt, SqlStorage};
use app::ssr::storage::StorageError;

#[async_trait::async_trait]
impl<D: Dialect> ShowStorage for SqlStorage<D>
where
    for<'c> &'c mut Connection<D>: Executor<'c, Database = D::Db>,
    for<'n> &'n str: ColumnIndex<Row<D>> + Encode<'n, D::Db> + Type<D::Db>,
    for<'n> Option<&'n str>: Encode<'n, D::Db>,
    usize: ColumnIndex<Row<D>>,
    i64: Value<D::Db>, i32: Value<D::Db>, bool: Value<D::Db>, String: Value<D::Db>,
    Option<i64>: Value<D::Db>, Option<bool>: Value<D::Db>,
{
    async fn create_venue(&self, institution: InstitutionId, name: &str, time_zone: &str) -> StorageResult<VenueId> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO venues (institution_id, name, time_zone) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(institution.0)
        .bind(name)
        .bind(time_zone)
        .fetch_one(&self.writer)
        .await
        .db()?;
        Ok(VenueId(id))
    }

    async fn create_event(&self, venue: VenueId, name: &str) -> StorageResult<EventId> {
        let id: i64 = sqlx::query_scalar("INSERT INTO events (venue_id, name) VALUES ($1, $2) RETURNING id")
            .bind(venue.0)
            .bind(name)
            .fetch_one(&self.writer)
            .await
            .db()?;
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
        .db()?;
        Ok(PerformanceId(id))
    }

    async fn rename_venue(&self, venue: VenueId, name: &str) -> StorageResult<()> {
        sqlx::query("UPDATE venues SET name = $2 WHERE id = $1")
            .bind(venue.0)
            .bind(name)
            .execute(&self.writer)
            .await
        .found()
    }

    async fn rename_event(&self, event: EventId, name: &str) -> StorageResult<()> {
        sqlx::query("UPDATE events SET name = $2 WHERE id = $1")
            .bind(event.0)
            .bind(name)
            .execute(&self.writer)
            .await
        .found()
    }

    async fn update_performance(
        &self,
        performance: PerformanceId,
        label: &str,
        starts_at: Option<Millis>,
        window: Option<(Millis, Millis)>,
        import_end: Option<Millis>,
    ) -> StorageResult<()> {
        sqlx::query(
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
        .found()
    }

    async fn set_pda_open(&self, performance: PerformanceId, open: bool) -> StorageResult<()> {
        sqlx::query("UPDATE performances SET pda_open = $1 WHERE id = $2")
            .bind(open)
            .bind(performance.0)
            .execute(&self.writer)
            .await
        .found()
    }

    async fn set_archived(&self, performance: PerformanceId, archived: bool) -> StorageResult<()> {
        sqlx::query("UPDATE performances SET archived = $1 WHERE id = $2")
            .bind(archived)
            .bind(performance.0)
            .execute(&self.writer)
            .await
        .found()
    }

    async fn purge_performances(&self, before: Millis) -> StorageResult<Vec<PerformanceId>> {
        // Archived ones only: a date typed two years back by mistake deletes nothing.
        const DUE: &str = "SELECT id FROM performances WHERE archived AND COALESCE(valid_to, starts_at) < $1";
        let mut tx = self.writer.begin().await.db()?;
        let due: Vec<i64> = sqlx::query_scalar(DUE).bind(before).fetch_all(&mut *tx).await.db()?;
        for table in ["scans", "ticket_duplicates", "tickets", "category_filters", "performance_sources", "device_downloads", "gates"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE performance_id IN ({DUE})"))
                .bind(before)
                .execute(&mut *tx)
                .await
                .db()?;
        }
        sqlx::query(&format!("DELETE FROM performances WHERE id IN ({DUE})"))
            .bind(before)
            .execute(&mut *tx)
            .await
            .db()?;
        tx.commit().await.db()?;
        Ok(due.into_iter().map(PerformanceId).collect())
    }

    async fn downloads(&self, from: Millis, to: Millis) -> StorageResult<Vec<DownloadRecord>> {
        let rows: Vec<DownloadRow> = sqlx::query_as(
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
        .db()?;
        Ok(rows.into_iter().map(DownloadRow::record).collect())
    }

    async fn create_gate(&self, performance: PerformanceId, rules: &Gate) -> StorageResult<GateId> {
        let mut tx = self.writer.begin().await.db()?;
        bump_rules_version::<D>(&mut tx, performance).await?;
        let id: i64 = sqlx::query_scalar("INSERT INTO gates (performance_id, name, rules) VALUES ($1, $2, $3) RETURNING id")
            .bind(performance.0)
            .bind(rules.name.as_str())
            .bind(gate_json(rules)?)
            .fetch_one(&mut *tx)
            .await
            .db()?;
        tx.commit().await.db()?;
        Ok(GateId(id))
    }

    async fn update_gate(&self, performance: PerformanceId, gate: GateId, rules: &Gate) -> StorageResult<()> {
        let mut tx = self.writer.begin().await.db()?;
        bump_rules_version::<D>(&mut tx, performance).await?;
        sqlx::query("UPDATE gates SET name = $3, rules = $4 WHERE id = $1 AND performance_id = $2")
            .bind(gate.0)
            .bind(performance.0)
            .bind(rules.name.as_str())
            .bind(gate_json(rules)?)
            .execute(&mut *tx)
            .await
            .found()?;
        tx.commit().await.db()
    }

    async fn delete_gate(&self, performance: PerformanceId, gate: GateId) -> StorageResult<()> {
        let mut tx = self.writer.begin().await.db()?;
        bump_rules_version::<D>(&mut tx, performance).await?;
        sqlx::query("DELETE FROM gates WHERE id = $1 AND performance_id = $2")
            .bind(gate.0)
            .bind(performance.0)
            .execute(&mut *tx)
            .await
            .found()?;
        tx.commit().await.db()
    }

    async fn set_category_filters(&self, performance: PerformanceId, categories: &[String]) -> StorageResult<()> {
        let mut tx = self.writer.begin().await.db()?;
        sqlx::query("DELETE FROM category_filters WHERE performance_id = $1")
            .bind(performance.0)
            .execute(&mut *tx)
            .await
            .db()?;
        for category in categories {
            sqlx::query("INSERT INTO category_filters (performance_id, category) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(performance.0)
                .bind(category)
                .execute(&mut *tx)
                .await
                .db()?;
        }
        tx.commit().await.db()
    }

    async fn venues(&self, institution: InstitutionId) -> StorageResult<Vec<VenueRecord>> {
        let rows: Vec<VenueRow> = sqlx::query_as("SELECT id, name, time_zone FROM venues WHERE institution_id = $1 ORDER BY name")
            .bind(institution.0)
            .fetch_all(&self.pool)
            .await
            .db()?;
        Ok(rows.into_iter().map(VenueRow::record).collect())
    }

    async fn venue_institution(&self, venue: VenueId) -> StorageResult<Option<(InstitutionId, String)>> {
        let row: Option<(i64, String)> = sqlx::query_as("SELECT institution_id, time_zone FROM venues WHERE id = $1")
            .bind(venue.0)
            .fetch_optional(&self.pool)
            .await
            .db()?;
        Ok(row.map(|(institution, time_zone)| (InstitutionId(institution), time_zone)))
    }

    async fn events(&self, institution: InstitutionId) -> StorageResult<Vec<EventRecord>> {
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT e.id, e.venue_id, e.name FROM events e JOIN venues v ON v.id = e.venue_id \
             WHERE v.institution_id = $1 ORDER BY e.name",
        )
        .bind(institution.0)
        .fetch_all(&self.pool)
        .await
        .db()?;
        Ok(rows.into_iter().map(EventRow::record).collect())
    }

    async fn event_place(&self, event: EventId) -> StorageResult<Option<(InstitutionId, String)>> {
        let row: Option<(i64, String)> = sqlx::query_as(
            "SELECT v.institution_id, v.time_zone FROM events e JOIN venues v ON v.id = e.venue_id WHERE e.id = $1",
        )
        .bind(event.0)
        .fetch_optional(&self.pool)
        .await
        .db()?;
        Ok(row.map(|(institution, time_zone)| (InstitutionId(institution), time_zone)))
    }

    async fn performance_categories(&self, performance: PerformanceId) -> StorageResult<Vec<(String, bool)>> {
        let rows: Vec<(String, bool)> = sqlx::query_as(
            "SELECT c.category, EXISTS (SELECT 1 FROM category_filters f \
               WHERE f.performance_id = $1 AND f.category = c.category) AS excluded \
             FROM (SELECT DISTINCT category FROM tickets WHERE performance_id = $1) c ORDER BY c.category",
        )
        .bind(performance.0)
        .fetch_all(&self.pool)
        .await
        .db()?;
        Ok(rows)
    }

    async fn performance_grid(&self, institution: InstitutionId, with_archived: bool) -> StorageResult<Vec<GridRow>> {
        self.figures_up_to_date().await?;
        let rows: Vec<GridRowRow> = sqlx::query_as(
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
        .db()?;
        Ok(rows.into_iter().map(GridRowRow::grid_row).collect())
    }
}

/// A gate's rules as the `gates.rules` column keeps them.
fn gate_json(rules: &Gate) -> StorageResult<String> {
    serde_json::to_string(rules).map_err(|e| StorageError::Database(Box::new(e)))
}

/// Raises the performance's rules version; `NotFound` if there is no such performance. First in
/// its transaction, so two changes at once are ordered by the performance's row.
async fn bump_rules_version<D: Dialect>(tx: &mut sqlx::Transaction<'_, D::Db>, performance: PerformanceId) -> StorageResult<()>
where
    for<'c> &'c mut Connection<D>: Executor<'c, Database = D::Db>,
    i64: Value<D::Db>,
{
    sqlx::query("UPDATE performances SET rules_version = rules_version + 1 WHERE id = $1")
        .bind(performance.0)
        .execute(&mut **tx)
        .await
        .found()
}
