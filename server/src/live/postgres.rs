//! Several processes on one PostgreSQL: each publishes with NOTIFY and relays what it LISTENs
//! to its own watchers, its own events included, so every watcher sees each event once.
//! A notification carries a list of events: all that queued while the previous one was
//! sent. A NOTIFY per scan was a statement per scan, and NOTIFY commits one at a time.

use std::sync::Arc;
use std::time::Duration;

use app::ssr::live::{LiveBus, LocalBus};
use app::sync::protocol::LiveEvent;
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use tokio::sync::{broadcast, mpsc};

const CHANNEL: &str = "billetix_live";

/// PostgreSQL refuses a payload of 8,000 bytes or more.
const MOST_PAYLOAD_BYTES: usize = 7_000;

pub struct PgBus {
    outbox: mpsc::UnboundedSender<LiveEvent>,
    local: LocalBus,
}

impl PgBus {
    /// Starts the listening task; it reconnects after a lost connection.
    pub fn start(pool: PgPool) -> Arc<Self> {
        let (outbox, queued) = mpsc::unbounded_channel();
        tokio::spawn(send_notifications(notifier(&pool), queued));
        let bus = Arc::new(Self { outbox, local: LocalBus::default() });
        let sender = bus.local.sender();
        tokio::spawn(async move {
            loop {
                if let Err(e) = relay(&pool, &sender).await {
                    tracing::warn!(error = %e, "live listener lost its connection; reconnecting");
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
        bus
    }
}

async fn relay(pool: &PgPool, sender: &broadcast::Sender<LiveEvent>) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    loop {
        let notification = listener.recv().await?;
        match serde_json::from_str::<Vec<LiveEvent>>(notification.payload()) {
            Ok(events) => {
                for event in events {
                    let _ = sender.send(event);
                }
            }
            Err(e) => tracing::warn!(error = %e, "unreadable live notification"),
        }
    }
}

impl LiveBus for PgBus {
    fn publish(&self, event: LiveEvent) {
        if self.outbox.send(event).is_err() {
            tracing::warn!("live event not published: the notifier has stopped");
        }
    }

    fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.local.subscribe()
    }
}

/// The connection notifications are sent on. A NOTIFY is a transaction, and a transaction's commit
/// waits for the disk; this one need not: what it announces was committed by its own statement
/// before it was published, and a notification lost in a crash is a live update missed, which
/// the devices' next delta brings. Waiting made it a second disk write per group of door scans.
fn notifier(pool: &PgPool) -> PgPool {
    let options = pool.connect_options().as_ref().clone().options([("synchronous_commit", "off")]);
    PgPoolOptions::new().max_connections(1).connect_lazy_with(options)
}

/// Sends what queued, as few notifications as fit, in one statement; until the bus is dropped.
async fn send_notifications(pool: PgPool, mut queued: mpsc::UnboundedReceiver<LiveEvent>) {
    let mut events = Vec::new();
    while queued.recv_many(&mut events, 1_000).await > 0 {
        let payloads = payloads(&events);
        events.clear();
        if let Err(e) = sqlx::query("SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload")
            .bind(CHANNEL)
            .bind(&payloads)
            .execute(&pool)
            .await
        {
            tracing::warn!(error = %e, notifications = payloads.len(), "live events not published");
        }
    }
}

/// JSON arrays of events, each under PostgreSQL's payload limit.
fn payloads(events: &[LiveEvent]) -> Vec<String> {
    let mut payloads = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut size = 2;
    for event in events {
        let json = match serde_json::to_string(event) {
            Ok(json) => json,
            Err(e) => {
                tracing::warn!(error = %e, "live event not serialisable");
                continue;
            }
        };
        if !current.is_empty() && size + json.len() + 1 > MOST_PAYLOAD_BYTES {
            payloads.push(format!("[{}]", current.join(",")));
            current.clear();
            size = 2;
        }
        size += json.len() + 1;
        current.push(json);
    }
    if !current.is_empty() {
        payloads.push(format!("[{}]", current.join(",")));
    }
    payloads
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::ssr::storage::Millis;

    fn event(n: Millis) -> LiveEvent {
        serde_json::from_value(serde_json::json!({
            "performance": 1, "scan_id": format!("scan-{n}"), "admitted": true,
            "pass": {"scan_id": format!("scan-{n}"), "barcode": format!("B{n:08}"), "performance": 1, "at": n,
                     "direction": "in", "device": "door 1", "conflict": false}
        }))
        .expect("a live event")
    }

    #[test]
    fn payloads_stay_under_the_limit_and_keep_every_event_in_order() {
        let events: Vec<LiveEvent> = (0..500).map(event).collect();
        let payloads = payloads(&events);
        assert!(payloads.len() > 1, "500 events do not fit one notification");
        let mut read = Vec::new();
        for payload in &payloads {
            assert!(payload.len() < MOST_PAYLOAD_BYTES, "payload of {} bytes", payload.len());
            read.extend(serde_json::from_str::<Vec<LiveEvent>>(payload).expect("a list of events"));
        }
        assert_eq!(read, events);
    }
}
