use serde::{Deserialize, Serialize};

use crate::engine::{Direction, Mode, PerformanceId, TicketState, Verdict};

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// The door: which performances it controls and how it counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Door {
    pub performances: Vec<PerformanceId>,
    pub mode: Mode,
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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadOutcome {
    pub server_time: Millis,
    /// Per uploaded scan, in the order sent.
    pub results: Vec<UploadedScan>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadedScan {
    pub scan_id: String,
    #[serde(flatten)]
    pub outcome: Uploaded,
}

/// What became of one uploaded scan. Each scan is answered on its own, so one the server can
/// never take does not hold back the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Uploaded {
    Recorded {
        /// The server's own verdict, decided in time order with every other device's scans.
        server_verdict: Verdict,
        /// Two devices admitted a single-pass ticket while offline (or alike): kept, flagged.
        conflict: bool,
    },
    /// Never to be recorded, however often it is sent (the performance was closed for
    /// scanning, or is gone, or this login may no longer scan it): the device sets it aside.
    Refused { reason: crate::error::AppError },
}

impl UploadedScan {
    pub fn conflict(&self) -> bool {
        matches!(self.outcome, Uploaded::Recorded { conflict: true, .. })
    }

    pub fn refusal(&self) -> Option<&crate::error::AppError> {
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
