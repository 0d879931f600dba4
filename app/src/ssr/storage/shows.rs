//! Venues, events and performances as the back office manages them.

use async_trait::async_trait;

use billetix_core::domain::{EventId, EventRecord, GridRow, InstitutionId, VenueId, VenueRecord};
use billetix_core::engine::{Gate, PerformanceId};
use billetix_core::ids::GateId;

use super::{Millis, StorageResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPerformance {
    pub event: EventId,
    pub label: String,
    pub starts_at: Option<Millis>,
    /// Undated performances: when their tickets are valid.
    pub window: Option<(Millis, Millis)>,
    pub import_end: Option<Millis>,
}

/// A login downloaded ticket numbers of an institution's performance to a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadRecord {
    pub at: Millis,
    pub institution: String,
    pub login: String,
}

#[async_trait]
pub trait ShowStorage: Send + Sync {
    async fn create_venue(&self, institution: InstitutionId, name: &str, time_zone: &str) -> StorageResult<VenueId>;
    async fn create_event(&self, venue: VenueId, name: &str) -> StorageResult<EventId>;
    async fn create_performance(&self, performance: &NewPerformance) -> StorageResult<PerformanceId>;
    async fn rename_venue(&self, venue: VenueId, name: &str) -> StorageResult<()>;
    async fn rename_event(&self, event: EventId, name: &str) -> StorageResult<()>;
    /// Changes a performance's label, dates and import end (its event stays); `NotFound` if
    /// there is no such performance.
    async fn update_performance(
        &self,
        performance: PerformanceId,
        label: &str,
        starts_at: Option<Millis>,
        window: Option<(Millis, Millis)>,
        import_end: Option<Millis>,
    ) -> StorageResult<()>;
    async fn venues(&self, institution: InstitutionId) -> StorageResult<Vec<VenueRecord>>;
    async fn venue_institution(&self, venue: VenueId) -> StorageResult<Option<(InstitutionId, String)>>;
    async fn events(&self, institution: InstitutionId) -> StorageResult<Vec<EventRecord>>;
    /// The event's institution and its venue's time zone.
    async fn event_place(&self, event: EventId) -> StorageResult<Option<(InstitutionId, String)>>;
    async fn performance_grid(&self, institution: InstitutionId, with_archived: bool) -> StorageResult<Vec<GridRow>>;
    async fn set_pda_open(&self, performance: PerformanceId, open: bool) -> StorageResult<()>;
    /// Archived performances are hidden from the grid unless asked for.
    async fn set_archived(&self, performance: PerformanceId, archived: bool) -> StorageResult<()>;
    /// Deletes the archived performances whose date (or validity end) is before `before`,
    /// with their tickets, scans and attachments; those purged.
    async fn purge_performances(&self, before: Millis) -> StorageResult<Vec<PerformanceId>>;
    /// Ticket downloads to devices between two times: (when, institution, login), oldest first.
    async fn downloads(&self, from: Millis, to: Millis) -> StorageResult<Vec<DownloadRecord>>;
    async fn set_category_filters(&self, performance: PerformanceId, categories: &[String]) -> StorageResult<()>;
    /// The categories present among the performance's tickets, each with whether it is excluded.
    async fn performance_categories(&self, performance: PerformanceId) -> StorageResult<Vec<(String, bool)>>;
    /// Adds a gate to the performance (`AlreadyExists`: one of that name) and raises its rules
    /// version, in one transaction; the gates are read with `performance_contexts`.
    async fn create_gate(&self, performance: PerformanceId, rules: &Gate) -> StorageResult<GateId>;
    /// Replaces a gate's rules and raises the version; `NotFound` unless the gate is the performance's.
    async fn update_gate(&self, performance: PerformanceId, gate: GateId, rules: &Gate) -> StorageResult<()>;
    /// Deletes a gate and raises the version; `NotFound` unless the gate is the performance's.
    async fn delete_gate(&self, performance: PerformanceId, gate: GateId) -> StorageResult<()>;
}
