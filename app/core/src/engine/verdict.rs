use chrono::{DateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use super::ticket::Direction;
use crate::ids::PerformanceId;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "verdict")]
pub enum Verdict {
    Accepted { direction: Direction },
    /// On the wire: `{"verdict": "refused", "reason": "already_scanned", "device": …}`.
    Refused {
        #[serde(flatten)]
        reason: Refusal,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Refusal {
    AlreadyScanned { first_at: DateTime<Utc>, device: String },
    Cancelled,
    Reissued,
    UnknownNumber,
    UnknownStateTicket,
    FilteredCategory { category: String },
    OtherPerformance { performance: PerformanceId },
    PerformanceNotUnderControl,
    /// Entry/exit: leaving while never seen entering; let the person out, but report it.
    ExitWithoutEntry,
    AlreadyInside,
    TotalQuotaReached { max: u32 },
    DailyQuotaReached { max: u32 },
    NotValidNow { from: DateTime<Utc>, to: DateTime<Utc> },
    /// The door's gate does not let this category in; `gates`: those of the performance that do.
    WrongEntrance { category: String, gates: Vec<String> },
    /// Before the gate's doors open for this category (local time in the venue's zone).
    TooEarly { opens: NaiveTime },
    /// After the last entry for this category (local time in the venue's zone).
    TooLate { last_entry: NaiveTime },
}

/// What the door shows: green passes, red stops, orange is an anomaly to look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Colour {
    Green,
    Red,
    Orange,
}

impl Verdict {
    pub fn is_accepted(&self) -> bool {
        matches!(self, Verdict::Accepted { .. })
    }

    /// The same decision for the person at the door: both admit the same way, or both refuse
    /// for the same reason (the details, such as when a ticket first passed, may differ
    /// between a device's copy and the server).
    pub fn same_decision(&self, other: &Verdict) -> bool {
        match (self, other) {
            (Verdict::Accepted { direction: a }, Verdict::Accepted { direction: b }) => a == b,
            (Verdict::Refused { reason: a }, Verdict::Refused { reason: b }) => std::mem::discriminant(a) == std::mem::discriminant(b),
            _ => false,
        }
    }

    pub fn colour(&self) -> Colour {
        match self {
            Verdict::Accepted { .. } => Colour::Green,
            // Not a "no": something for staff to look at (a missed entry, a ticket whose
            // state the seller has not settled, a device set up with nothing to control).
            Verdict::Refused {
                reason: Refusal::ExitWithoutEntry | Refusal::UnknownStateTicket | Refusal::PerformanceNotUnderControl,
            } => Colour::Orange,
            Verdict::Refused { .. } => Colour::Red,
        }
    }
}
