//! Live push: every recorded scan goes to the devices and back-office pages watching its
//! performance, whichever server process recorded it.

use billetix_core::sync::protocol::LiveEvent;
use tokio::sync::broadcast;

use super::storage::ScanRecord;

/// How events reach every process: in memory with one process (SQLite), through the database
/// with several (PostgreSQL LISTEN/NOTIFY).
pub trait LiveBus: Send + Sync + 'static {
    fn publish(&self, event: LiveEvent);
    fn subscribe(&self) -> broadcast::Receiver<LiveEvent>;

    fn publish_scan(&self, record: &ScanRecord) {
        if let Some(event) = record.live_event() {
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
