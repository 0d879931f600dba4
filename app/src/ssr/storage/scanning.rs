//! Venues, events, performances, tickets and scans: what the doors decide on and record.

use async_trait::async_trait;

use billetix_core::domain::{InstitutionId, LoginId};
use billetix_core::engine::{Barcode, Direction, Pass, PerformanceId, Ticket, TicketState, ValidityWindow, Verdict};
use billetix_core::sync::protocol::{DeviceReason, GateSet, LiveEvent, PassRow};

use super::{Millis, StorageResult};

/// What a checkpoint needs to know of a performance it controls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerformanceContext {
    pub id: PerformanceId,
    pub institution: InstitutionId,
    pub time_zone: String,
    pub excluded_categories: Vec<String>,
    pub window: Option<ValidityWindow>,
    /// Ticked in the back office: devices may import and scan it.
    pub pda_open: bool,
    /// Its institution's deadline for online verdicts.
    pub scan_deadline_ms: u32,
    /// Its gates and the version of its rules.
    pub gates: GateSet,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicket {
    pub barcode: Barcode,
    pub state: TicketState,
    pub category: String,
    pub holder: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketRow {
    pub barcode: Barcode,
    pub performance: PerformanceId,
    pub state: TicketState,
    pub category: String,
    pub holder: Option<String>,
    pub changed_at: Millis,
}

/// A scan to record, as the door saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewScan {
    /// Made by the device; recording the same id twice records it once.
    pub scan_uuid: String,
    pub barcode: Barcode,
    pub device: String,
    pub login: Option<LoginId>,
    /// When the pass happened: the server's time online, the device's offline.
    pub scanned_at: Millis,
    pub client_time: Millis,
    pub server_time: Millis,
    pub direction: Direction,
    /// The door's rules it was made under, to judge it again if earlier passes arrive later.
    pub door_mode: Option<crate::engine::Mode>,
    /// Decided on the device (the verdict shown at the door was the device's).
    pub offline: bool,
    /// Why the device decided, for scans it decided.
    pub device_reason: Option<DeviceReason>,
    /// Server time minus device time, as the device measured it (device decisions).
    pub clock_skew_ms: Option<i64>,
}

/// What to write for a scan, decided from the ticket and its passes as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub verdict: Verdict,
    /// The person went through (online: the verdict; offline: what the device decided).
    pub admitted: bool,
    pub anomaly: Option<Anomaly>,
    /// For a device's decision: whether the server's own verdict was the same.
    pub server_agreed: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Anomaly {
    /// Admitted offline though the ticket had already passed (two devices, one ticket).
    DoubleEntry,
    /// Admitted offline though the server knew better (cancelled meanwhile, other rules).
    AdmittedAgainstRules,
    /// Left through an entry/exit door while never seen entering (let out, but reported).
    ExitWithoutEntry,
}

impl Anomaly {
    pub fn as_str(self) -> &'static str {
        match self {
            Anomaly::DoubleEntry => "double_entry",
            Anomaly::AdmittedAgainstRules => "admitted_against_rules",
            Anomaly::ExitWithoutEntry => "exit_without_entry",
        }
    }

    /// Two admissions that cannot both stand, which devices list as double entries.
    pub fn is_conflict(self) -> bool {
        matches!(self, Anomaly::DoubleEntry | Anomaly::AdmittedAgainstRules)
    }

    /// The anomaly a verdict reports by itself, whoever decided it.
    pub fn of_verdict(verdict: &billetix_core::engine::Verdict) -> Option<Self> {
        matches!(verdict, billetix_core::engine::Verdict::Refused { reason: billetix_core::engine::Refusal::ExitWithoutEntry })
            .then_some(Anomaly::ExitWithoutEntry)
    }

    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "double_entry" => Some(Anomaly::DoubleEntry),
            "admitted_against_rules" => Some(Anomaly::AdmittedAgainstRules),
            "exit_without_entry" => Some(Anomaly::ExitWithoutEntry),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanRecord {
    pub scan_uuid: String,
    pub performance: Option<PerformanceId>,
    pub barcode: String,
    pub device: String,
    pub scanned_at: Millis,
    pub server_time: Millis,
    pub direction: Direction,
    pub admitted: bool,
    pub verdict: Verdict,
    pub offline: bool,
    pub anomaly: Option<Anomaly>,
    pub client_time: Millis,
    /// Server decisions: the round trip the device measured (told later, with its upload).
    pub round_trip_ms: Option<i64>,
    pub device_reason: Option<DeviceReason>,
    pub server_agreed: Option<bool>,
    pub clock_skew_ms: Option<i64>,
}

impl ScanRecord {
    /// The admission this scan made, as devices keep it: none if it was refused.
    pub fn pass_row(&self) -> Option<PassRow> {
        if !self.admitted {
            return None;
        }
        Some(PassRow {
            scan_id: self.scan_uuid.clone(),
            barcode: self.barcode.clone(),
            performance: self.performance?,
            at: self.scanned_at,
            direction: self.direction,
            device: self.device.clone(),
            conflict: self.anomaly.is_some_and(Anomaly::is_conflict),
        })
    }

    /// The scan as watchers of its performance get it: none for a scan of no performance.
    pub fn live_event(&self) -> Option<LiveEvent> {
        Some(LiveEvent {
            performance: self.performance?,
            scan_id: self.scan_uuid.clone(),
            admitted: self.admitted,
            pass: self.pass_row(),
            rules_changed: false,
        })
    }
}

/// The storage's answer to a door scan: its record, and whether this call wrote it. A scan
/// id recorded before (a retry, even one sent at the same moment as its first) gets its first
/// record, not written now: what its judge said, if it ran, is not what was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoorAnswer {
    pub record: ScanRecord,
    pub written_now: bool,
}

/// What a device said later of a scan the server had already recorded online.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecisionNote {
    /// The server's verdict was shown, after this round trip.
    RoundTrip { scan_uuid: String, round_trip_ms: i64 },
    /// Its answer came too late (or was lost): the device's verdict was shown instead.
    DecidedOnDevice { scan_uuid: String, reason: DeviceReason, server_agreed: bool, clock_skew_ms: Option<i64> },
}

/// Decides a scan from the ticket (if the number is known) and its passes, oldest first. It
/// runs inside the transaction that records the scan, and again if that transaction is
/// retried: what it says of the last run is what was recorded.
pub type Judge = Box<dyn Fn(Option<&Ticket>, &[Pass]) -> Judgement + Send + Sync>;

/// A scan to decide and record at a door.
pub struct DoorScan {
    pub scan: NewScan,
    /// The performances the door controls: the number is looked for there first.
    pub performances: Vec<PerformanceId>,
    /// Their institutions: a number found elsewhere in them lets the door say which
    /// performance it belongs to.
    pub institutions: Vec<InstitutionId>,
    pub judge: Judge,
}

#[async_trait]
pub trait ScanStorage: Send + Sync {
    /// In the order asked; `NotFound` if one does not exist.
    async fn performance_contexts(&self, ids: &[PerformanceId]) -> StorageResult<Vec<PerformanceContext>>;
    /// Adds new numbers and updates known ones, in one transaction.
    async fn upsert_tickets(&self, performance: PerformanceId, tickets: &[NewTicket], now: Millis) -> StorageResult<()>;

    /// Decides and records scans, each as one atomic step, in the order given: `judge` sees
    /// the ticket and its passes as stored, admissions of the scans before it included, and
    /// no other admission of that ticket can land between the decision and its record,
    /// whatever the number of server processes. The ticket is looked for in the door's
    /// performances first, then in the other performances of its institutions. A scan id
    /// already recorded is answered with the first record, unchanged. One answer a scan.
    async fn record_scans(&self, scans: Vec<DoorScan>) -> Vec<StorageResult<DoorAnswer>>;
    /// Completes scans recorded online with what their device said afterwards. Only online
    /// records change, each at most once a kind: a note repeated changes nothing.
    async fn note_decisions(&self, notes: &[DecisionNote]) -> StorageResult<()>;
    /// Judges again the admitted scans of these tickets (performance, number) in time order
    /// (`sync::reflag`), after passes arrived late; the scans whose anomaly changed are
    /// updated, marked changed at `now` (so deltas carry them), and returned. Atomic with the
    /// doors' writes of those tickets.
    async fn reflag_passes(&self, tickets: &[(PerformanceId, String)], now: Millis) -> StorageResult<Vec<ScanRecord>>;

    async fn performance_tickets(&self, performance: PerformanceId) -> StorageResult<Vec<TicketRow>>;
    async fn tickets_changed_since(&self, performances: &[PerformanceId], since: Millis) -> StorageResult<Vec<TicketRow>>;
    /// Scans recorded (server time), or whose anomaly changed, at or after `since`, oldest first.
    async fn scans_since(&self, performances: &[PerformanceId], since: Millis) -> StorageResult<Vec<ScanRecord>>;
    /// (tickets admitted at least once, countable tickets: valid ones and those admitted).
    async fn admission_counts(&self, performance: PerformanceId) -> StorageResult<(u64, u64)>;
    /// A login downloaded a performance's numbers to a device (billing, SPEC §2).
    async fn record_download(&self, login: LoginId, performance: PerformanceId, at: Millis) -> StorageResult<()>;
}
