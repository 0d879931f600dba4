//! Venues, events and the performance grid, as the back office shows them.

use serde::{Deserialize, Serialize};

use crate::ids::{EventId, Millis, PerformanceId, VenueId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VenueRecord {
    pub id: VenueId,
    pub name: String,
    pub time_zone: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    pub id: EventId,
    pub venue: VenueId,
    pub name: String,
}

/// One line of an institution's performance grid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridRow {
    pub performance: PerformanceId,
    pub venue: String,
    pub event: String,
    pub label: String,
    pub starts_at: Option<Millis>,
    pub window: Option<(Millis, Millis)>,
    pub import_end: Option<Millis>,
    pub time_zone: String,
    pub pda_open: bool,
    pub archived: bool,
    /// Tickets admitted at least once.
    pub admitted: u64,
    /// Countable tickets: valid ones, and those admitted before they were cancelled.
    pub total: u64,
}

