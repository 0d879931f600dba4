use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::PerformanceId;

/// What the sources say of a ticket (SPEC §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketState {
    Valid,
    Cancelled,
    /// Reissued: the old number no longer enters.
    Duplicated,
    /// Stored but never admitted nor counted (e.g. Shotgun's pending approval).
    Unknown,
}

impl TicketState {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketState::Valid => "valid",
            TicketState::Cancelled => "cancelled",
            TicketState::Duplicated => "duplicated",
            TicketState::Unknown => "unknown",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "valid" => Some(TicketState::Valid),
            "cancelled" => Some(TicketState::Cancelled),
            "duplicated" => Some(TicketState::Duplicated),
            "unknown" => Some(TicketState::Unknown),
            _ => None,
        }
    }
}

/// When an undated performance (an exhibition…) lets its tickets in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidityWindow {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl ValidityWindow {
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.from <= at && at <= self.to
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub performance: PerformanceId,
    pub state: TicketState,
    pub category: String,
    pub window: Option<ValidityWindow>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "in" => Some(Direction::In),
            "out" => Some(Direction::Out),
            _ => None,
        }
    }
}

/// One admission of a ticket through a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pass {
    pub at: DateTime<Utc>,
    pub direction: Direction,
    pub device: String,
}
