//! Live push: every recorded scan goes to the devices and back-office pages watching its
//! performance, whichever server process recorded it.

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::backend::storage::ScanRecord;
use crate::engine::PerformanceId;
use crate::sync::protocol::PassRow;
use crate::sync::service::pass_row;

/// One recorded scan, as watchers need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveEvent {
    pub performance: PerformanceId,
    pub scan_id: String,
    pub admitted: bool,
    /// The admission, for devices to add to their copy.
    pub pass: Option<PassRow>,
}

impl LiveEvent {
    pub fn of(record: &ScanRecord) -> Option<Self> {
        Some(Self {
            performance: record.performance?,
            scan_id: record.scan_uuid.clone(),
            admitted: record.admitted,
            pass: pass_row(record),
        })
    }
}

/// How events reach every process: in memory with one process (SQLite), through the database
/// with several (PostgreSQL LISTEN/NOTIFY).
pub trait LiveBus: Send + Sync + 'static {
    fn publish(&self, event: LiveEvent);
    fn subscribe(&self) -> broadcast::Receiver<LiveEvent>;

    fn publish_scan(&self, record: &ScanRecord) {
        if let Some(event) = LiveEvent::of(record) {
            self.publish(event);
        }
    }
}

/// Watchers that fall this far behind lose the oldest events and resynchronise by delta.
pub const LIVE_BUFFER: usize = 4_096;

/// The in-process bus.
pub struct LocalBus {
    sender: broadcast::Sender<LiveEvent>,
}

impl Default for LocalBus {
    fn default() -> Self {
        Self { sender: broadcast::channel(LIVE_BUFFER).0 }
    }
}

impl LocalBus {
    pub fn sender(&self) -> broadcast::Sender<LiveEvent> {
        self.sender.clone()
    }
}

impl LiveBus for LocalBus {
    fn publish(&self, event: LiveEvent) {
        // No receiver is not an error: nobody is watching.
        let _ = self.sender.send(event);
    }

    fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.sender.subscribe()
    }
}
