//! Sources, their attachments to performances, what they import, and the lease that lets one
//! server process at a time refresh a source.

use async_trait::async_trait;

use billetix_core::domain::{AttachmentView, FieldValues, ImportSummary, InstitutionId, RefreshPeriods, SourceId, SourceKind};
use billetix_core::engine::{Barcode, PerformanceId, TicketState};

use super::{Millis, StorageResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSource {
    pub institution: InstitutionId,
    pub kind: SourceKind,
    pub name: String,
    pub settings: FieldValues,
    /// Encrypted by the server key; `None` keeps the stored secrets on update.
    pub sealed_secrets: Option<String>,
    pub periods: RefreshPeriods,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRecord {
    pub id: SourceId,
    pub institution: InstitutionId,
    pub kind: SourceKind,
    pub name: String,
    pub settings: FieldValues,
    pub sealed_secrets: Option<String>,
    pub periods: RefreshPeriods,
}

/// An attachment the scheduler is to refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueAttachment {
    pub performance: PerformanceId,
    pub options: FieldValues,
    pub cursor: Option<String>,
    pub starts_at: Option<Millis>,
    pub import_end: Option<Millis>,
}

/// How an import treats numbers the performance already holds from the same source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    /// Files (SPEC §3): new numbers are added and cancellations applied; nothing else changes.
    Cumulative,
    /// Web services: the partner's current state replaces the stored one.
    Mirror,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedTicket {
    pub barcode: Barcode,
    pub state: TicketState,
    pub category: String,
    pub holder: Option<String>,
    /// Every field the source gave, as a JSON object, for reports.
    pub fields: String,
    /// Already scanned by the partner's own control (it arrives scanned).
    pub partner_scanned_at: Option<Millis>,
}

/// A scan waiting to be pushed to the partner: admitted ones, refused ones too for partners
/// that record failed controls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingPush {
    pub scan_id: i64,
    pub barcode: String,
    pub scanned_at: Millis,
    pub device: String,
    pub admitted: bool,
    /// Decided by a device offline and uploaded later.
    pub offline: bool,
    /// Why it was refused (the verdict's reason code).
    pub refusal: Option<String>,
}

/// A cancelled ticket the partner holds a copy of, whose cancellation it has not taken yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCancellation {
    pub ticket_id: i64,
    pub barcode: String,
}

#[async_trait]
pub trait SourceStorage: Send + Sync {
    /// `AlreadyExists` for a second source of one file kind in an institution.
    async fn create_source(&self, source: &NewSource) -> StorageResult<SourceId>;
    async fn update_source(&self, id: SourceId, source: &NewSource) -> StorageResult<()>;
    /// Removes the source, its attachments and the tickets it imported (scans keep their
    /// numbers), and the category filters no ticket carries any more.
    async fn delete_source(&self, id: SourceId) -> StorageResult<()>;
    async fn source(&self, id: SourceId) -> StorageResult<Option<SourceRecord>>;
    async fn sources(&self, institution: InstitutionId) -> StorageResult<Vec<SourceRecord>>;
    /// Events the listing of the source's events has read so far (its total once done): kept in
    /// the database so a page polling any server process sees the listing move.
    async fn record_events_listed(&self, source: SourceId, seen: u64) -> StorageResult<()>;
    /// The sum of those counts over the institution's sources.
    async fn events_listed(&self, institution: InstitutionId) -> StorageResult<u64>;

    /// Attaches (or re-configures) a source on a performance; a new attachment is due now.
    async fn attach_source(&self, performance: PerformanceId, source: SourceId, options: &FieldValues, now: Millis) -> StorageResult<()>;
    /// Detaches it, with its tickets in that performance and the filters left without tickets.
    async fn detach_source(&self, performance: PerformanceId, source: SourceId) -> StorageResult<()>;
    async fn attachments(&self, performance: PerformanceId) -> StorageResult<Vec<AttachmentView>>;
    /// The options of every performance the source is attached to (which partner events are
    /// already present).
    async fn performances_of_source(&self, source: SourceId) -> StorageResult<Vec<FieldValues>>;
    /// Makes an attachment due now ("refresh now").
    async fn request_refresh(&self, performance: PerformanceId, source: SourceId, now: Millis) -> StorageResult<()>;

    /// Web-service sources with an attachment due at `now` whose performance's import end
    /// has not passed (or that a person asked to refresh), most overdue first.
    async fn due_sources(&self, now: Millis) -> StorageResult<Vec<SourceId>>;
    /// Takes or renews the lease `name` until `until`: `true` if `owner` holds it now. Atomic
    /// in the database, so two processes never hold one lease at once.
    async fn try_lease(&self, name: &str, owner: &str, now: Millis, until: Millis) -> StorageResult<bool>;
    async fn release_lease(&self, name: &str, owner: &str) -> StorageResult<()>;
    async fn due_attachments(&self, source: SourceId, now: Millis) -> StorageResult<Vec<DueAttachment>>;
    async fn refresh_started(&self, performance: PerformanceId, source: SourceId) -> StorageResult<()>;
    async fn refresh_finished(
        &self,
        performance: PerformanceId,
        source: SourceId,
        error: Option<&str>,
        next_refresh_at: Millis,
        now: Millis,
    ) -> StorageResult<()>;

    /// Imports tickets from a source into a performance, whole or not at all. They come a
    /// chunk at a time, so a file of a million tickets is never held whole; a number listed
    /// twice in one chunk counts as its last row. A number another source of the performance
    /// imported first is kept as it is and recorded as a duplicate.
    async fn import_tickets(
        &self,
        performance: PerformanceId,
        source: SourceId,
        mode: ImportMode,
        tickets: &mut (dyn Iterator<Item = Vec<ImportedTicket>> + Send),
        now: Millis,
    ) -> StorageResult<ImportSummary>;
    /// Imports a partner's page (`ImportMode::Mirror`) with the cursor after it and the running
    /// count, in one transaction: a page is imported with its cursor or not at all.
    async fn import_page(
        &self,
        performance: PerformanceId,
        source: SourceId,
        tickets: &[ImportedTicket],
        cursor: Option<&str>,
        progress: u64,
        now: Millis,
    ) -> StorageResult<ImportSummary>;

    /// Admitted scans of the source's tickets in that performance not yet pushed, oldest first;
    /// its tickets are those it imported and those it carried after another source (its
    /// duplicates: the partner holds them too, a wallet hides their QR code once scanned).
    /// Only scans recorded before `settled` (server time): a scan id allocated earlier but
    /// committed later is not skipped.
    async fn pending_pushes(
        &self,
        performance: PerformanceId,
        source: SourceId,
        settled: Millis,
        limit: u32,
        with_refusals: bool,
    ) -> StorageResult<Vec<PendingPush>>;
    /// Moves the push cursor; `error` is shown on the attachment until a push succeeds.
    async fn pushed(&self, performance: PerformanceId, source: SourceId, up_to_scan: i64, error: Option<&str>) -> StorageResult<()>;
    /// Cancelled tickets of the performance that the source also carried (another source
    /// imported them first, so they are its duplicates) and whose cancellation it has not
    /// been given yet, oldest first. Tickets the source itself imported are left out: it
    /// told us of their cancellation.
    async fn pending_cancellations(&self, performance: PerformanceId, source: SourceId, limit: u32) -> StorageResult<Vec<PendingCancellation>>;
    /// Marks those tickets' cancellations as pushed (if they are still cancelled).
    async fn cancellations_pushed(&self, tickets: &[i64], now: Millis) -> StorageResult<()>;
    /// Every attachment of sources of that kind (the pusher's work list).
    async fn attachments_of_kind(&self, kind: SourceKind) -> StorageResult<Vec<(PerformanceId, SourceRecord, FieldValues)>>;
}
