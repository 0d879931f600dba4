//! Reports (SPEC §3): a performance's tickets with what their sources gave and what the doors
//! did, paged, sorted and filtered by the database; and the same rows in chunks for exports.

use async_trait::async_trait;

use billetix_core::domain::{ReportPage, ReportQuery, ReportRow, TicketHistory};
use billetix_core::engine::PerformanceId;

use super::StorageResult;

#[async_trait]
pub trait ReportStorage: Send + Sync {
    /// One page of the report, the number of tickets the filter matches, and the totals by
    /// category of the whole performance.
    async fn report_page(&self, query: &ReportQuery) -> StorageResult<ReportPage>;

    /// Every scan of one ticket of the performance, oldest first; `None` for a number the
    /// performance does not hold.
    async fn ticket_history(
        &self,
        performance: PerformanceId,
        barcode: &str,
    ) -> StorageResult<Option<TicketHistory>>;

    /// Up to `limit` rows in barcode order, after the barcode `after` (from the start when
    /// `None`): an export reads the whole report a chunk at a time.
    async fn report_chunk(
        &self,
        performance: PerformanceId,
        after: Option<&str>,
        limit: u32,
    ) -> StorageResult<Vec<ReportRow>>;

    /// The names of every field the performance's sources gave, sorted (an export's columns).
    async fn report_field_keys(&self, performance: PerformanceId) -> StorageResult<Vec<String>>;
}
