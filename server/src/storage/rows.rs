//! The rows statements read, as sqlx reads them (`FromRow`, by column name), and what each
//! becomes: the conversions that can fail (stored text that no longer parses) return
//! `StorageResult`.

use app::ssr::signin_throttle::KeyState;
use app::ssr::storage::{
    Anomaly, DownloadRecord, DueAttachment, LoginRecord, MemberRecord, PendingCancellation, PendingPush, ScanRecord, SessionEnd,
    SourceRecord, StorageError, StorageResult, TicketRow,
};
use app::domain::{
    AttachmentView, EventId, EventRecord, FieldValues, GridRow, HistoryEntry, Institution, InstitutionId, LoginId, ReportRow, Rights,
    ScanAnomaly, SourceId, SourceKind, VenueId, VenueRecord,
};
use app::engine::{Pass, PerformanceId, Ticket};
use app::sync::protocol::DeviceReason;
use app::sync::reflag::RecordedPass;
use sqlx::FromRow;

use super::door_group::Candidate;
use super::shared::{
    barcode_from, count_from, direction_from, end_reason_from, institution_from, login_name_from, periods_from, ticket_state_from,
    time_from, values_from, verdict_from, window_from,
};

#[derive(FromRow)]
pub(super) struct InstitutionRow {
    id: i64,
    parent_id: Option<i64>,
    name: String,
}

impl InstitutionRow {
    pub(super) fn institution(self) -> StorageResult<Institution> {
        institution_from(self.id, self.parent_id, self.name)
    }
}

#[derive(FromRow)]
pub(super) struct LoginRow {
    id: i64,
    name: String,
    password_hash: String,
    disabled: bool,
    master_of: Option<i64>,
    last_institution_id: Option<i64>,
}

impl LoginRow {
    pub(super) fn record(self) -> StorageResult<LoginRecord> {
        Ok(LoginRecord {
            id: LoginId(self.id),
            name: login_name_from(self.name)?,
            password_hash: self.password_hash,
            disabled: self.disabled,
            master_of: self.master_of.map(InstitutionId),
            last_institution: self.last_institution_id.map(InstitutionId),
        })
    }
}

#[derive(FromRow)]
pub(super) struct RightsRow {
    is_admin: bool,
    is_pda: bool,
    is_backoffice: bool,
}

impl From<RightsRow> for Rights {
    fn from(row: RightsRow) -> Self {
        Rights { admin: row.is_admin, pda: row.is_pda, backoffice: row.is_backoffice }
    }
}

#[derive(FromRow)]
pub(super) struct MembershipRow {
    pub institution_id: i64,
    #[sqlx(flatten)]
    pub rights: RightsRow,
}

#[derive(FromRow)]
pub(super) struct MemberRow {
    id: i64,
    name: String,
    disabled: bool,
    master_of: Option<i64>,
    #[sqlx(flatten)]
    rights: RightsRow,
}

impl MemberRow {
    pub(super) fn record(self) -> StorageResult<MemberRecord> {
        Ok(MemberRecord {
            login_id: LoginId(self.id),
            name: login_name_from(self.name)?,
            rights: self.rights.into(),
            disabled: self.disabled,
            master_of: self.master_of.map(InstitutionId),
        })
    }
}

/// A session with its login, once for each of the login's memberships (none: one row, its
/// membership's columns empty).
#[derive(FromRow)]
pub(super) struct SessionRow {
    pub login_id: i64,
    pub started_at: i64,
    pub last_seen_at: i64,
    pub ended_at: Option<i64>,
    end_reason: Option<String>,
    pub disabled: bool,
    pub master_of: Option<i64>,
    institution_id: Option<i64>,
    is_admin: Option<bool>,
    is_pda: Option<bool>,
    is_backoffice: Option<bool>,
}

impl SessionRow {
    pub(super) fn end_reason(&self) -> SessionEnd {
        end_reason_from(self.end_reason.clone())
    }

    /// The row's membership, if the login has one (the columns are set together).
    pub(super) fn membership(&self) -> Option<(InstitutionId, Rights)> {
        let rights = Rights {
            admin: self.is_admin.unwrap_or_default(),
            pda: self.is_pda.unwrap_or_default(),
            backoffice: self.is_backoffice.unwrap_or_default(),
        };
        self.institution_id.map(|institution| (InstitutionId(institution), rights))
    }
}

#[derive(FromRow)]
pub(super) struct ThrottleRow {
    attempts: i64,
    last_attempt_at: i64,
    next_allowed_at: i64,
}

impl ThrottleRow {
    pub(super) fn key_state(&self) -> KeyState {
        KeyState {
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            last_attempt_at: self.last_attempt_at,
            next_allowed_at: self.next_allowed_at,
        }
    }
}

#[derive(FromRow)]
pub(super) struct DownloadRow {
    downloaded_at: i64,
    institution: String,
    login: String,
}

impl DownloadRow {
    pub(super) fn record(self) -> DownloadRecord {
        DownloadRecord { at: self.downloaded_at, institution: self.institution, login: self.login }
    }
}

#[derive(FromRow)]
pub(super) struct VenueRow {
    id: i64,
    name: String,
    time_zone: String,
}

impl VenueRow {
    pub(super) fn record(self) -> VenueRecord {
        VenueRecord { id: VenueId(self.id), name: self.name, time_zone: self.time_zone }
    }
}

#[derive(FromRow)]
pub(super) struct EventRow {
    id: i64,
    venue_id: i64,
    name: String,
}

impl EventRow {
    pub(super) fn record(self) -> EventRecord {
        EventRecord { id: EventId(self.id), venue: VenueId(self.venue_id), name: self.name }
    }
}

/// A row of the back office's performance grid.
#[derive(FromRow)]
pub(super) struct GridRowRow {
    id: i64,
    label: String,
    starts_at: Option<i64>,
    valid_from: Option<i64>,
    valid_to: Option<i64>,
    import_end: Option<i64>,
    pda_open: bool,
    archived: bool,
    event_name: String,
    venue_name: String,
    time_zone: String,
    admitted: i64,
    total: i64,
}

impl GridRowRow {
    pub(super) fn grid_row(self) -> GridRow {
        GridRow {
            performance: PerformanceId(self.id),
            venue: self.venue_name,
            event: self.event_name,
            label: self.label,
            starts_at: self.starts_at,
            window: self.valid_from.zip(self.valid_to),
            import_end: self.import_end,
            time_zone: self.time_zone,
            pda_open: self.pda_open,
            archived: self.archived,
            admitted: count_from(self.admitted),
            total: count_from(self.total),
        }
    }
}

#[derive(FromRow)]
pub(super) struct PerformanceContextRow {
    pub institution_id: i64,
    pub time_zone: String,
    pub valid_from: Option<i64>,
    pub valid_to: Option<i64>,
    pub pda_open: bool,
    pub scan_deadline_ms: i32,
    pub rules_version: i64,
}

/// A ticket as devices receive it.
#[derive(FromRow)]
pub(super) struct TicketDeltaRow {
    barcode: String,
    performance_id: i64,
    state: String,
    category: String,
    holder: Option<String>,
    changed_at: i64,
}

impl TicketDeltaRow {
    pub(super) fn ticket(self) -> StorageResult<TicketRow> {
        Ok(TicketRow {
            barcode: barcode_from(self.barcode)?,
            performance: PerformanceId(self.performance_id),
            state: ticket_state_from(&self.state)?,
            category: self.category,
            holder: self.holder,
            changed_at: self.changed_at,
        })
    }
}

/// A scan as recorded (`scanning::SCAN_COLUMNS`).
#[derive(FromRow)]
pub(super) struct ScanRow {
    scan_uuid: String,
    performance_id: Option<i64>,
    barcode: String,
    device: String,
    scanned_at: i64,
    server_time: i64,
    direction: String,
    admitted: bool,
    verdict: String,
    offline: bool,
    anomaly: Option<String>,
    client_time: i64,
    round_trip_ms: Option<i64>,
    device_reason: Option<String>,
    server_agreed: Option<bool>,
    clock_skew_ms: Option<i64>,
}

impl ScanRow {
    pub(super) fn record(self) -> StorageResult<ScanRecord> {
        Ok(ScanRecord {
            scan_uuid: self.scan_uuid,
            performance: self.performance_id.map(PerformanceId),
            barcode: self.barcode,
            device: self.device,
            scanned_at: self.scanned_at,
            server_time: self.server_time,
            direction: direction_from(&self.direction)?,
            admitted: self.admitted,
            verdict: verdict_from(&self.verdict)?,
            offline: self.offline,
            anomaly: self.anomaly.as_deref().and_then(Anomaly::parse),
            client_time: self.client_time,
            round_trip_ms: self.round_trip_ms,
            device_reason: self.device_reason.as_deref().and_then(DeviceReason::parse),
            server_agreed: self.server_agreed,
            clock_skew_ms: self.clock_skew_ms,
        })
    }
}

/// An admitted scan of a ticket whose flags are judged again, with its venue's time zone.
#[derive(FromRow)]
pub(super) struct ReflagRow {
    id: i64,
    ticket_id: i64,
    scanned_at: i64,
    direction: String,
    device: String,
    door_mode: Option<String>,
    anomaly: Option<String>,
    time_zone: String,
}

impl ReflagRow {
    pub(super) fn zone(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::UTC)
    }

    /// (scan id, ticket id, the pass as recorded).
    pub(super) fn pass(self) -> StorageResult<(i64, i64, RecordedPass)> {
        Ok((
            self.id,
            self.ticket_id,
            RecordedPass {
                at: self.scanned_at,
                direction: direction_from(&self.direction)?,
                device: self.device,
                mode: self.door_mode.and_then(|m| serde_json::from_str(&m).ok()),
                anomaly: self.anomaly.as_deref().and_then(Anomaly::parse),
            },
        ))
    }
}

/// A ticket a group of door scans may be about, once for each of its passes (none: one row,
/// the pass's columns empty), by ticket id then time (`scanning::push_candidates_query`).
#[derive(FromRow)]
pub(super) struct CandidateRow {
    pub id: i64,
    barcode: String,
    institution_id: i64,
    performance_id: i64,
    state: String,
    category: String,
    valid_from: Option<i64>,
    valid_to: Option<i64>,
    scanned_at: Option<i64>,
    direction: Option<String>,
    device: Option<String>,
}

/// The same on PostgreSQL, with the passes its figures counted in the same snapshot.
#[derive(FromRow)]
pub(super) struct CountedCandidateRow {
    #[sqlx(flatten)]
    pub candidate: CandidateRow,
    pub counted_passes: i64,
}

impl CandidateRow {
    /// The ticket of its rows' first.
    pub(super) fn candidate(&self) -> StorageResult<Candidate> {
        Ok(Candidate {
            id: self.id,
            barcode: self.barcode.clone(),
            institution: self.institution_id,
            ticket: Ticket {
                performance: PerformanceId(self.performance_id),
                state: ticket_state_from(&self.state)?,
                category: self.category.clone(),
                window: window_from(self.valid_from, self.valid_to),
            },
            passes: Vec::new(),
        })
    }

    /// The row's pass, if it has one.
    pub(super) fn pass(self) -> StorageResult<Option<Pass>> {
        let Some(at) = self.scanned_at else { return Ok(None) };
        Ok(Some(Pass {
            at: time_from(at)?,
            direction: direction_from(self.direction.as_deref().unwrap_or_default())?,
            device: self.device.unwrap_or_default(),
        }))
    }
}

fn source_kind_from(kind: &str) -> StorageResult<SourceKind> {
    SourceKind::parse(kind).ok_or_else(|| StorageError::Database(format!("unknown source kind {kind:?}").into()))
}

/// A source (`sources::SOURCE_COLUMNS`).
#[derive(FromRow)]
pub(super) struct SourceRow {
    id: i64,
    institution_id: i64,
    kind: String,
    name: String,
    settings: String,
    secrets: Option<String>,
    long_period: i64,
    short_period: i64,
    short_window: i64,
}

impl SourceRow {
    pub(super) fn record(self) -> StorageResult<SourceRecord> {
        Ok(SourceRecord {
            id: SourceId(self.id),
            institution: InstitutionId(self.institution_id),
            kind: source_kind_from(&self.kind)?,
            name: self.name,
            settings: values_from(&self.settings)?,
            sealed_secrets: self.secrets,
            periods: periods_from(self.long_period, self.short_period, self.short_window),
        })
    }
}

/// An attachment of a source of one kind, with its source.
#[derive(FromRow)]
pub(super) struct KindSourceRow {
    performance_id: i64,
    options: String,
    #[sqlx(flatten)]
    source: SourceRow,
}

impl KindSourceRow {
    pub(super) fn attachment(self) -> StorageResult<(PerformanceId, SourceRecord, FieldValues)> {
        Ok((PerformanceId(self.performance_id), self.source.record()?, values_from(&self.options)?))
    }
}

/// What an import finds of a number already in the performance.
#[derive(FromRow)]
pub(super) struct StoredTicket {
    pub barcode: String,
    pub source_id: Option<i64>,
    pub state: String,
    pub category: String,
    pub holder: Option<String>,
    pub fields: Option<String>,
    detached_at: Option<i64>,
}

impl StoredTicket {
    /// Kept, with its scans, when its source was detached: the next import takes it.
    pub(super) fn detached(&self) -> bool {
        self.detached_at.is_some()
    }
}

/// An import in the journal.
#[derive(FromRow)]
pub(super) struct FileImportRow {
    pub performance_id: i64,
    pub source_id: i64,
    pub mode: String,
    pub imported_at: i64,
}

#[derive(FromRow)]
pub(super) struct AttachmentRow {
    performance_id: i64,
    source_id: i64,
    kind: String,
    name: String,
    options: String,
    running: bool,
    progress: i64,
    last_refresh_at: Option<i64>,
    last_error: Option<String>,
    push_error: Option<String>,
    tickets: i64,
    duplicates: i64,
    passes: i64,
}

impl AttachmentRow {
    pub(super) fn view(self) -> StorageResult<AttachmentView> {
        Ok(AttachmentView {
            performance: PerformanceId(self.performance_id),
            source: SourceId(self.source_id),
            kind: source_kind_from(&self.kind)?,
            name: self.name,
            options: values_from(&self.options)?,
            running: self.running,
            progress: count_from(self.progress),
            last_refresh_at: self.last_refresh_at,
            last_error: self.last_error,
            push_error: self.push_error,
            tickets: count_from(self.tickets),
            duplicates: count_from(self.duplicates),
            passes: count_from(self.passes),
        })
    }
}

#[derive(FromRow)]
pub(super) struct DueAttachmentRow {
    performance_id: i64,
    options: String,
    cursor: Option<String>,
    starts_at: Option<i64>,
    import_end: Option<i64>,
}

impl DueAttachmentRow {
    pub(super) fn attachment(self) -> StorageResult<DueAttachment> {
        Ok(DueAttachment {
            performance: PerformanceId(self.performance_id),
            options: values_from(&self.options)?,
            cursor: self.cursor,
            starts_at: self.starts_at,
            import_end: self.import_end,
        })
    }
}

#[derive(FromRow)]
pub(super) struct PendingPushRow {
    id: i64,
    barcode: String,
    scanned_at: i64,
    device: String,
    admitted: bool,
    offline: bool,
    verdict: String,
}

impl PendingPushRow {
    pub(super) fn push(self) -> PendingPush {
        let refusal = serde_json::from_str::<serde_json::Value>(&self.verdict)
            .ok()
            .and_then(|v| v.get("reason").and_then(|r| r.as_str()).map(str::to_owned));
        PendingPush {
            scan_id: self.id,
            barcode: self.barcode,
            scanned_at: self.scanned_at,
            device: self.device,
            admitted: self.admitted,
            offline: self.offline,
            refusal,
        }
    }
}

#[derive(FromRow)]
pub(super) struct PendingCancellationRow {
    id: i64,
    barcode: String,
}

impl PendingCancellationRow {
    pub(super) fn cancellation(self) -> PendingCancellation {
        PendingCancellation { ticket_id: self.id, barcode: self.barcode }
    }
}

/// A report's row (`reports::report_rows_sql`); `matching` only where the page counts the
/// matching tickets on its way.
#[derive(FromRow)]
pub(super) struct ReportRowRow {
    barcode: String,
    state: String,
    category: String,
    holder: Option<String>,
    fields: Option<String>,
    source_name: Option<String>,
    passes: i64,
    first_entry: Option<i64>,
    last_scan: Option<i64>,
    anomalies: i64,
    device_decisions: i64,
    disagreements: i64,
    clock_off: i64,
    #[sqlx(default)]
    pub matching: Option<i64>,
}

impl ReportRowRow {
    pub(super) fn report_row(self) -> StorageResult<ReportRow> {
        let count = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
        Ok(ReportRow {
            barcode: self.barcode,
            state: ticket_state_from(&self.state)?,
            category: self.category,
            holder: self.holder,
            source_name: self.source_name,
            fields: ReportRow::fields_from_json(self.fields.as_deref()),
            passes: count(self.passes),
            first_entry: self.first_entry,
            last_scan: self.last_scan,
            anomalies: count(self.anomalies),
            device_decisions: count(self.device_decisions),
            disagreements: count(self.disagreements),
            clock_off: count(self.clock_off),
        })
    }
}

/// A scan in a ticket's history.
#[derive(FromRow)]
pub(super) struct HistoryRow {
    scanned_at: i64,
    device: String,
    direction: String,
    admitted: bool,
    verdict: String,
    offline: bool,
    anomaly: Option<String>,
    client_time: i64,
    round_trip_ms: Option<i64>,
    device_reason: Option<String>,
    server_agreed: Option<bool>,
    clock_skew_ms: Option<i64>,
}

impl HistoryRow {
    pub(super) fn entry(self) -> StorageResult<HistoryEntry> {
        Ok(HistoryEntry {
            at: self.scanned_at,
            device: self.device,
            direction: direction_from(&self.direction)?,
            admitted: self.admitted,
            verdict: verdict_from(&self.verdict)?,
            offline: self.offline,
            anomaly: self.anomaly.as_deref().and_then(Anomaly::parse).map(|a| match a {
                Anomaly::DoubleEntry => ScanAnomaly::DoubleEntry,
                Anomaly::AdmittedAgainstRules => ScanAnomaly::AdmittedAgainstRules,
                Anomaly::ExitWithoutEntry => ScanAnomaly::ExitWithoutEntry,
            }),
            client_time: self.client_time,
            round_trip_ms: self.round_trip_ms,
            device_reason: self.device_reason.as_deref().and_then(DeviceReason::parse),
            server_agreed: self.server_agreed,
            clock_skew_ms: self.clock_skew_ms,
        })
    }
}
