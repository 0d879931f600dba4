use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::gate::Gates;
use super::ticket::Direction;
use crate::ids::PerformanceId;

/// How a door counts passes (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum Mode {
    /// A ticket passes once.
    SinglePass,
    /// A ticket may cross both ways but is on one side only; never scanned = outside.
    EntryExit { direction: Direction },
    /// Limits on entries in total and per local day of the venue.
    MultiPass { max_total: Option<u32>, max_per_day: Option<u32> },
}

/// Everything about the door that the verdict depends on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub mode: Mode,
    pub under_control: Vec<PerformanceId>,
    /// Categories refused as "filtered", per performance.
    pub excluded: Vec<(PerformanceId, String)>,
    /// The venue's zone: a day, for per-day quotas, runs from local midnight to midnight.
    pub time_zone: Tz,
    /// The gate the door joined, if any (its mode is `mode` already), and its performance's
    /// others.
    #[serde(default)]
    pub gates: Gates,
}

impl Checkpoint {
    pub fn controls(&self, performance: PerformanceId) -> bool {
        self.under_control.contains(&performance)
    }

    pub fn excludes(&self, performance: PerformanceId, category: &str) -> bool {
        self.excluded.iter().any(|(p, c)| *p == performance && c == category)
    }
}
