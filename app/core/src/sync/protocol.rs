use serde::{Deserialize, Serialize};

use crate::engine::{Direction, Gate, Mode, TicketState, Verdict};
pub use crate::ids::Millis;
use crate::ids::{GateId, PerformanceId};

/// At most this many performances on one `/live` feed: each event is checked against them.
pub const LIVE_MAX_PERFORMANCES: usize = 64;

/// How long a scanner waits for the server's verdict before it shows its own, unless the
/// institution says otherwise.
pub const DEFAULT_SCAN_DEADLINE_MS: u32 = 400;
/// The deadlines an institution may choose: below, a busy network would always miss it;
/// above, a steward waits too long at the door.
pub const SCAN_DEADLINE_RANGE_MS: std::ops::RangeInclusive<u32> = 50..=5_000;

/// A device clock further than this from the server's is flagged (on the device and in reports).
pub const MAX_CLOCK_SKEW_MS: i64 = 60_000;

pub(crate) fn default_scan_deadline() -> u32 {
    DEFAULT_SCAN_DEADLINE_MS
}

/// Why a device showed its own verdict rather than the server's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceReason {
    /// No network, or nobody signed in: the server was not asked.
    Offline,
    /// The server's answer did not come within the deadline.
    Timeout,
    /// The server answered with an error (or the request failed).
    Error,
    /// The device stopped asking after repeated timeouts or errors, for a while.
    DeviceOnly,
}

impl DeviceReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceReason::Offline => "offline",
            DeviceReason::Timeout => "timeout",
            DeviceReason::Error => "error",
            DeviceReason::DeviceOnly => "device_only",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "offline" => Some(DeviceReason::Offline),
            "timeout" => Some(DeviceReason::Timeout),
            "error" => Some(DeviceReason::Error),
            "device_only" => Some(DeviceReason::DeviceOnly),
            _ => None,
        }
    }
}

/// Whose verdict the door showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum DecidedBy {
    Device { why: DeviceReason },
    /// Within the deadline, after this round trip.
    Server { round_trip_ms: u32 },
}

impl Default for DecidedBy {
    /// Scans kept before devices said who decided were all decided on the device.
    fn default() -> Self {
        DecidedBy::Device { why: DeviceReason::Offline }
    }
}

/// The door: which performances it controls and how it counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Door {
    pub performances: Vec<PerformanceId>,
    /// Without a gate, the steward's choice. On a gate, only the direction of an entry/exit
    /// gate counts: the gate's rules are the ones stored, whatever else this says.
    pub mode: Mode,
    /// The gate the device joined; `performances` is then the gate's performance alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<GateId>,
}

/// A gate of a performance, as the back office edits it and devices join it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PerformanceGate {
    pub id: GateId,
    pub rules: Gate,
}

/// A performance's gates as they stand, and the version of its rules (raised by each change).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateSet {
    pub rules_version: i64,
    pub gates: Vec<PerformanceGate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanRequest {
    /// Made by the device (a UUID); sending it again never counts twice.
    pub scan_id: String,
    pub barcode: String,
    pub device: String,
    pub client_time: Millis,
    pub door: Door,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanOutcome {
    pub scan_id: String,
    pub verdict: Verdict,
    pub server_time: Millis,
    /// The admission, for the device's copy.
    #[serde(default)]
    pub pass: Option<PassRow>,
}

/// A scan the device decided alone while offline, uploaded later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineScan {
    pub scan_id: String,
    pub barcode: String,
    pub device: String,
    pub scanned_at: Millis,
    pub door: Door,
    /// What the device showed at the door.
    pub device_verdict: Verdict,
    /// Whose verdict that was: a scan the server decided online is sent again with its round
    /// trip (it counts once), and one decided here says why.
    #[serde(default)]
    pub decided: DecidedBy,
    /// Server time minus device time, as the device last measured it before the scan.
    #[serde(default)]
    pub clock_skew_ms: Option<i64>,
    /// The login signed in on the device when the scan was made: only that login uploads it,
    /// so a scan is never recorded under whoever signs in next. `None` on scans kept before
    /// devices tagged them (any login sends those) and on scans made with nobody signed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<ScanLogin>,
}

/// Who a scan was made under: the id the server checks, the name the device shows.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ScanLogin {
    pub id: i64,
    pub name: String,
}

/// The answer to an upload. `E`, here and below, is why the server refuses a scan: the
/// server's error type (`app::error::AppError`), left open because that type also carries
/// Leptos' server-function glue, which this crate must not depend on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadOutcome<E> {
    pub server_time: Millis,
    /// Per uploaded scan, in the order sent.
    pub results: Vec<UploadedScan<E>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadedScan<E> {
    pub scan_id: String,
    #[serde(flatten)]
    pub outcome: Uploaded<E>,
}

/// What became of one uploaded scan. Each scan is answered on its own, so one the server can
/// never take does not hold back the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Uploaded<E> {
    Recorded {
        /// The server's own verdict, decided in time order with every other device's scans.
        server_verdict: Verdict,
        /// Two devices admitted a single-pass ticket while offline (or alike): kept, flagged.
        conflict: bool,
    },
    /// Never to be recorded, however often it is sent (the performance was closed for
    /// scanning, or is gone, or this login may no longer scan it): the device sets it aside.
    Refused { reason: E },
}

/// Why the server refuses an uploaded scan, as far as the device must tell the cases apart.
pub trait UploadRefusal {
    /// The scan was made under another login than the one signed in: it waits for that login
    /// instead of being set aside.
    fn waits_for_its_login(&self) -> bool;
}

impl<E> UploadedScan<E> {
    pub fn conflict(&self) -> bool {
        matches!(self.outcome, Uploaded::Recorded { conflict: true, .. })
    }

    pub fn refusal(&self) -> Option<&E> {
        match &self.outcome {
            Uploaded::Refused { reason } => Some(reason),
            Uploaded::Recorded { .. } => None,
        }
    }
}

/// Everything a device needs to decide on a performance's tickets, columnar so it compresses
/// well: ticket `i` is `barcodes[i]`, state `states[i]`, category `categories[category_of[i]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub performance: PerformanceId,
    pub time_zone: String,
    pub excluded_categories: Vec<String>,
    pub window: Option<(Millis, Millis)>,
    pub barcodes: Vec<String>,
    /// One letter per ticket: `v`alid, `c`ancelled, `d`uplicated, `u`nknown.
    pub states: String,
    pub categories: Vec<String>,
    pub category_of: Vec<u32>,
    /// Admissions so far.
    pub passes: Vec<PassRow>,
    /// Give this back to `sync_delta` to get what changed since.
    pub cursor: Millis,
    pub server_time: Millis,
    /// The institution's deadline for online verdicts.
    #[serde(default = "default_scan_deadline")]
    pub scan_deadline_ms: u32,
    /// Its gates, for a device to join one.
    #[serde(default)]
    pub gates: GateSet,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassRow {
    pub scan_id: String,
    pub barcode: String,
    pub performance: PerformanceId,
    pub at: Millis,
    pub direction: Direction,
    pub device: String,
    /// An offline double entry, for the device to show.
    pub conflict: bool,
}

/// One recorded scan, as the `/live` feed sends it to the devices and back-office pages
/// watching its performance; or word that its door rules changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveEvent {
    pub performance: PerformanceId,
    pub scan_id: String,
    pub admitted: bool,
    /// The admission, for devices to add to their copy.
    pub pass: Option<PassRow>,
    /// Not a scan (no id, no pass): the performance's gates changed. The feed sends it as a
    /// `rules` event, and devices take the new rules with a delta at once.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rules_changed: bool,
}

impl LiveEvent {
    pub fn rules_changed(performance: PerformanceId) -> Self {
        LiveEvent { performance, scan_id: String::new(), admitted: false, pass: None, rules_changed: true }
    }
}

/// Holder names, asked for apart from the snapshot: the verdict does not need them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holders {
    pub barcodes: Vec<String>,
    pub names: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketChange {
    pub barcode: String,
    pub performance: PerformanceId,
    pub state: TicketState,
    pub category: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delta {
    pub tickets: Vec<TicketChange>,
    pub passes: Vec<PassRow>,
    pub cursor: Millis,
    pub server_time: Millis,
    /// Each performance's institution's deadline for online verdicts, as it stands now.
    #[serde(default)]
    pub scan_deadlines: Vec<(PerformanceId, u32)>,
    /// Each performance's gates as they stand now: a change reaches devices without a re-import.
    #[serde(default)]
    pub gates: Vec<(PerformanceId, GateSet)>,
}

pub fn state_letter(state: TicketState) -> char {
    match state {
        TicketState::Valid => 'v',
        TicketState::Cancelled => 'c',
        TicketState::Duplicated => 'd',
        TicketState::Unknown => 'u',
    }
}

pub fn state_from_letter(letter: char) -> Option<TicketState> {
    match letter {
        'v' => Some(TicketState::Valid),
        'c' => Some(TicketState::Cancelled),
        'd' => Some(TicketState::Duplicated),
        'u' => Some(TicketState::Unknown),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_uploaded_scans_answer_keeps_its_wire_form() {
        let refused: UploadedScan<String> = UploadedScan { scan_id: "s1".into(), outcome: Uploaded::Refused { reason: "closed".into() } };
        let json = serde_json::to_value(&refused).expect("serialise");
        assert_eq!(json, serde_json::json!({"scan_id": "s1", "outcome": "refused", "reason": "closed"}));
        assert_eq!(serde_json::from_value::<UploadedScan<String>>(json).expect("read back"), refused);
        assert_eq!(refused.refusal(), Some(&"closed".to_owned()));
        assert!(!refused.conflict());
    }
}
