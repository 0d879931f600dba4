//! Reports: the SQL both databases run, written once. Only listing the keys of the sources'
//! JSON fields differs between the databases (`Dialect::FIELD_KEYS_SQL`).
//!
//! A page is found in two steps inside one statement: the ids of the page's tickets (sorted and
//! filtered on narrow columns, by index where the sort allows), then their details and their
//! scans grouped once over the page. The figures a report sorts on (passes, first entry) are
//! kept for each ticket in `ticket_figures` (by the admitting statement on PostgreSQL; on
//! SQLite counted in batches, and brought up to date before a report reads them:
//! `Dialect::figures_up_to_date`), so every sort walks an index; the source's sort walks one per
//! source (`source_sorted_page`).

use std::collections::{BTreeMap, HashMap};

use app::ssr::storage::{ReportStorage, StorageResult};
use app::domain::{CategoryTotal, ReportColumn, ReportPage, ReportQuery, ReportRow, TicketHistory};
use app::engine::PerformanceId;
use sqlx::{ColumnIndex, Encode, Executor, Type};

use super::dialect::{Connection, Dialect, Row, Value};
use super::rows::{HistoryRow, ReportRowRow};
use super::shared::count_from;
use super::{DbResultExt, SqlStorage};

/// Whether a sort is on the figures (`f`, `ticket_figures`) rather than the tickets.
fn sorts_on_figures(sort: ReportColumn) -> bool {
    matches!(sort, ReportColumn::FirstEntry | ReportColumn::Passes)
}

/// The `ORDER BY` of a sort over `t` (tickets), `f` (their figures) and `src` (sources).
/// Missing values sort first ascending on both databases; the barcode breaks ties, read
/// from the table sorted on so that one index gives the whole order.
fn report_order(sort: ReportColumn, descending: bool) -> String {
    let (dir, nulls) = if descending { ("DESC", "NULLS LAST") } else { ("ASC", "NULLS FIRST") };
    let key = match sort {
        ReportColumn::Barcode => return format!("t.barcode {dir}"),
        ReportColumn::State => format!("t.state {dir}"),
        ReportColumn::Category => format!("t.category {dir}"),
        ReportColumn::Holder => format!("t.holder {dir} {nulls}"),
        ReportColumn::Source => format!("src.name {dir} {nulls}"),
        ReportColumn::FirstEntry => return format!("f.first_entry {dir} {nulls}, f.barcode {dir}"),
        ReportColumn::Passes => return format!("f.passes {dir}, f.barcode {dir}"),
    };
    format!("{key}, t.barcode {dir}")
}

/// Details and scan figures of the tickets `page` (a CTE of ticket ids) lists, with the
/// page's `page_columns` (", page.…"); the last scan and the anomalies are grouped over
/// the page's scans alone.
fn report_rows_sql(page: &str, order: &str, page_columns: &str) -> String {
    format!(
        "WITH page AS ({page}), a AS (SELECT s.ticket_id, MAX(s.scanned_at) AS last_scan, \
         SUM(CASE WHEN s.anomaly IS NOT NULL THEN 1 ELSE 0 END) AS anomalies, \
         SUM(CASE WHEN s.offline THEN 1 ELSE 0 END) AS device_decisions, \
         SUM(CASE WHEN s.offline AND NOT s.server_agreed THEN 1 ELSE 0 END) AS disagreements, \
         SUM(CASE WHEN s.offline AND ABS(s.clock_skew_ms) > 60000 THEN 1 ELSE 0 END) AS clock_off \
         FROM scans s WHERE s.ticket_id IN (SELECT id FROM page) GROUP BY s.ticket_id) \
         SELECT t.barcode, t.state, t.category, t.holder, t.fields, src.name AS source_name, \
         f.passes, f.first_entry, a.last_scan, COALESCE(a.anomalies, 0) AS anomalies, \
         COALESCE(a.device_decisions, 0) AS device_decisions, COALESCE(a.disagreements, 0) AS disagreements, \
         COALESCE(a.clock_off, 0) AS clock_off{page_columns} \
         FROM page JOIN tickets t ON t.id = page.id JOIN ticket_figures f ON f.ticket_id = t.id \
         LEFT JOIN sources src ON src.id = t.source_id \
         LEFT JOIN a ON a.ticket_id = t.id ORDER BY {order}"
    )
}


impl<D: Dialect> SqlStorage<D>
where
    for<'c> &'c mut Connection<D>: Executor<'c, Database = D::Db>,
    for<'n> &'n str: ColumnIndex<Row<D>> + Encode<'n, D::Db> + Type<D::Db>,
    for<'n> Option<&'n str>: Encode<'n, D::Db>,
    usize: ColumnIndex<Row<D>>,
    i64: Value<D::Db>, i32: Value<D::Db>, bool: Value<D::Db>, String: Value<D::Db>,
    Option<i64>: Value<D::Db>, Option<bool>: Value<D::Db>,
{
    /// The ids of a page sorted on the source's name, without sorting every ticket: the
    /// tickets are counted per source, the sources put in name order (in Rust, one order
    /// on both databases), and the page read from the group or groups its rows fall in,
    /// each in barcode order along the index (performance, source, barcode). With the
    /// page's query, the number of matching tickets.
    async fn source_sorted_page(
        &self,
        query: &ReportQuery,
        filter: &str,
        pattern: Option<&str>,
    ) -> StorageResult<(String, u64)> {
        let counts_sql = format!(
            "SELECT t.source_id, src.name, COUNT(*) AS tickets FROM tickets t LEFT JOIN sources src ON src.id = t.source_id \
             WHERE t.performance_id = $1{filter} GROUP BY t.source_id, src.name"
        );
        let mut counts = sqlx::query_as::<_, (Option<i64>, Option<String>, i64)>(&counts_sql).bind(query.performance.0);
        if let Some(pattern) = pattern {
            counts = counts.bind(pattern);
        }
        let counts = counts.fetch_all(&self.pool).await.db()?;
        // Sources of one name are one group: their tickets interleave by barcode.
        let mut groups: BTreeMap<Option<String>, (Vec<Option<i64>>, u64)> = Default::default();
        for (source, name, tickets) in counts {
            let group = groups.entry(name).or_default();
            group.0.push(source);
            group.1 += count_from(tickets);
        }
        let matching = groups.values().map(|(_, tickets)| tickets).sum();
        let mut groups: Vec<_> = groups.into_values().collect();
        if query.descending {
            groups.reverse();
        }
        let direction = if query.descending { "DESC" } else { "ASC" };
        let (mut skip, mut wanted) = (query.offset(), u64::from(query.page_size.get()));
        let mut parts = Vec::new();
        for (sources, tickets) in groups {
            if wanted == 0 {
                break;
            }
            if skip >= tickets {
                skip -= tickets;
                continue;
            }
            let taken = wanted.min(tickets - skip);
            let ids: Vec<String> = sources.iter().flatten().map(i64::to_string).collect();
            let mut within = Vec::new();
            if !ids.is_empty() {
                within.push(format!("t.source_id IN ({})", ids.join(", ")));
            }
            if sources.contains(&None) {
                within.push("t.source_id IS NULL".to_owned());
            }
            parts.push(format!(
                "SELECT id FROM (SELECT t.id FROM tickets t WHERE t.performance_id = $1{filter} AND ({}) \
                 ORDER BY t.barcode {direction} LIMIT {taken} OFFSET {skip}) AS g{}",
                within.join(" OR "),
                parts.len()
            ));
            wanted -= taken;
            skip = 0;
        }
        if parts.is_empty() {
            parts.push("SELECT t.id FROM tickets t WHERE t.performance_id = $1 AND 1 = 0".to_owned());
        }
        Ok((parts.join(" UNION ALL "), matching))
    }
}

#[async_trait::async_trait]
impl<D: Dialect> ReportStorage for SqlStorage<D>
where
    for<'c> &'c mut Connection<D>: Executor<'c, Database = D::Db>,
    for<'n> &'n str: ColumnIndex<Row<D>> + Encode<'n, D::Db> + Type<D::Db>,
    for<'n> Option<&'n str>: Encode<'n, D::Db>,
    usize: ColumnIndex<Row<D>>,
    i64: Value<D::Db>, i32: Value<D::Db>, bool: Value<D::Db>, String: Value<D::Db>,
    Option<i64>: Value<D::Db>, Option<bool>: Value<D::Db>,
{
    async fn report_page(&self, query: &ReportQuery) -> StorageResult<ReportPage> {
        self.figures_up_to_date().await?;
            let pattern = (!query.filter.is_empty()).then(|| query.filter.like_pattern());
        // Numbered in order of appearance: $1 performance, then the pattern if any.
        let filter = if pattern.is_some() {
            " AND (LOWER(t.barcode) LIKE LOWER($2) ESCAPE '\\' OR LOWER(COALESCE(t.holder, '')) LIKE LOWER($2) ESCAPE '\\')"
        } else {
            ""
        };
        let next = if pattern.is_some() { 3 } else { 2 };
        let order = report_order(query.sort, query.descending);
        // Filtered and sorted on the figures, the page reads every matching ticket anyway:
        // it counts them on its way (`matching`) instead of a second scan of the tickets.
        let counted_in_page = sorts_on_figures(query.sort) && pattern.is_some();
        // The source's sort counts the matching tickets on its way.
        let (page, source_counted) = if query.sort == ReportColumn::Source {
            let (page, counted) = self.source_sorted_page(query, filter, pattern.as_deref()).await?;
            (page, Some(counted))
        } else {
            // A sort on the figures walks their index. Filtered, it reads the matching
            // tickets first and sorts those (SQLite takes a CROSS JOIN's tables in the
            // order written): walking the figures would look up every ticket to filter it.
            let from = match (sorts_on_figures(query.sort), pattern.is_some()) {
                (false, _) => "SELECT t.id FROM tickets t WHERE t.performance_id = $1",
                (true, false) => "SELECT f.ticket_id AS id FROM ticket_figures f WHERE f.performance_id = $1",
                (true, true) => {
                    "SELECT t.id, COUNT(*) OVER () AS matching FROM tickets t CROSS JOIN ticket_figures f \
                     WHERE f.ticket_id = t.id AND t.performance_id = $1"
                }
            };
            let page = format!("{from}{filter} ORDER BY {order} LIMIT ${next} OFFSET ${}", next + 1);
            (page, None)
        };
        let sql = report_rows_sql(&page, &order, if counted_in_page { ", page.matching" } else { "" });
        let mut rows = sqlx::query_as::<_, ReportRowRow>(&sql).bind(query.performance.0);
        if let Some(pattern) = &pattern {
            rows = rows.bind(pattern.as_str());
        }
        // The source's page carries its numbers in its text.
        if query.sort != ReportColumn::Source {
            rows = rows
                .bind(i64::from(query.page_size.get()))
                .bind(i64::try_from(query.offset()).unwrap_or(i64::MAX));
        }
        let rows = rows.fetch_all(&self.pool);
        let count_matching = || async {
            let count_sql = format!("SELECT COUNT(*) FROM tickets t WHERE t.performance_id = $1{filter}");
            let mut count = sqlx::query_scalar::<_, i64>(&count_sql).bind(query.performance.0);
            if let Some(pattern) = &pattern {
                count = count.bind(pattern.as_str());
            }
            count.fetch_one(&self.pool).await
        };
        // Unfiltered, the matching tickets are all of them, which the totals count.
        let count = async {
            if pattern.is_none() || source_counted.is_some() || counted_in_page {
                return Ok(None);
            }
            count_matching().await.map(Some)
        };
        // Totals by category, each from one index: the tickets' (`tickets_report_totals`), and
        // the figures' passes, which carries the category. A ticket with a pass is admitted.
        let totals = sqlx::query_as::<_, (String, i64, i64)>(
            "SELECT category, COUNT(*) AS tickets, SUM(CASE WHEN state = 'valid' THEN 1 ELSE 0 END) AS valid \
             FROM tickets WHERE performance_id = $1 GROUP BY category",
        )
        .bind(query.performance.0)
        .fetch_all(&self.pool);
        let admitted = sqlx::query_as::<_, (String, i64)>(
            "SELECT category, COUNT(*) AS admitted FROM ticket_figures WHERE performance_id = $1 AND passes > 0 GROUP BY category",
        )
        .bind(query.performance.0)
        .fetch_all(&self.pool);
        // The reads at once, each on its own connection of the pool.
        let (rows, count, totals, admitted) = tokio::try_join!(rows, count, totals, admitted).db()?;
        let count = match (count, rows.first()) {
            (None, Some(row)) if counted_in_page => row.matching,
            // A page past the last match has no row to carry the count.
            (None, None) if counted_in_page => Some(count_matching().await.db()?),
            (count, _) => count,
        };
        let rows = rows.into_iter().map(ReportRowRow::report_row).collect::<StorageResult<Vec<_>>>()?;
        let admitted: HashMap<String, u64> = admitted.into_iter().map(|(category, admitted)| (category, count_from(admitted))).collect();
        let mut totals_by_category: Vec<CategoryTotal> = totals
            .into_iter()
            .map(|(category, tickets, valid)| CategoryTotal {
                admitted: admitted.get(&category).copied().unwrap_or(0),
                category,
                tickets: count_from(tickets),
                valid: count_from(valid),
            })
            .collect();
        // One order on both databases, whatever their collation.
        totals_by_category.sort_by(|a, b| a.category.cmp(&b.category));
        let total_matching = match (count, source_counted) {
            (Some(count), _) => count_from(count),
            (None, Some(counted)) => counted,
            (None, None) => totals_by_category.iter().map(|t| t.tickets).sum(),
        };
        Ok(ReportPage { rows, total_matching, totals_by_category })
    }

    async fn ticket_history(&self, performance: PerformanceId, barcode: &str) -> StorageResult<Option<TicketHistory>> {
        let ticket: Option<i64> = sqlx::query_scalar("SELECT id FROM tickets WHERE performance_id = $1 AND barcode = $2")
            .bind(performance.0)
            .bind(barcode)
            .fetch_optional(&self.pool)
            .await
            .db()?;
        let Some(ticket) = ticket else { return Ok(None) };
        let rows: Vec<HistoryRow> = sqlx::query_as(
            "SELECT scanned_at, device, direction, admitted, verdict, offline, anomaly, client_time, round_trip_ms, \
             device_reason, server_agreed, clock_skew_ms FROM scans \
             WHERE ticket_id = $1 ORDER BY scanned_at, id",
        )
        .bind(ticket)
        .fetch_all(&self.pool)
        .await
        .db()?;
        let scans = rows.into_iter().map(HistoryRow::entry).collect::<StorageResult<Vec<_>>>()?;
        Ok(Some(TicketHistory { barcode: barcode.to_owned(), scans }))
    }

    async fn report_chunk(&self, performance: PerformanceId, after: Option<&str>, limit: u32) -> StorageResult<Vec<ReportRow>> {
        // Once an export, at its first chunk: the figures then run to the export's start.
        if after.is_none() {
            self.figures_up_to_date().await?;
        }
        let (after_clause, limit_param) = if after.is_some() { (" AND t.barcode > $2", "$3") } else { ("", "$2") };
        let page = format!(
            "SELECT t.id FROM tickets t WHERE t.performance_id = $1{after_clause} ORDER BY t.barcode LIMIT {limit_param}"
        );
        let sql = report_rows_sql(&page, "t.barcode", "");
        let mut rows = sqlx::query_as::<_, ReportRowRow>(&sql).bind(performance.0);
        if let Some(after) = after {
            rows = rows.bind(after);
        }
        let rows = rows.bind(i64::from(limit)).fetch_all(&self.pool).await.db()?;
        rows.into_iter().map(ReportRowRow::report_row).collect()
    }

    async fn report_field_keys(&self, performance: PerformanceId) -> StorageResult<Vec<String>> {
        let mut keys: Vec<String> = sqlx::query_scalar(D::FIELD_KEYS_SQL)
            .bind(performance.0)
            .fetch_all(&self.pool)
            .await
            .db()?;
        // One order on both databases, whatever their collation.
        keys.sort();
        Ok(keys)
    }
}
