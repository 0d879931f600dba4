//! Several processes on one PostgreSQL: each publishes with NOTIFY and relays what it LISTENs
//! to its own watchers, its own events included, so every watcher sees each event once.

use std::sync::Arc;
use std::time::Duration;

use app::backend::live::{LiveBus, LiveEvent, LocalBus};
use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::broadcast;

const CHANNEL: &str = "billetix_live";

pub struct PgBus {
    pool: PgPool,
    local: LocalBus,
}

impl PgBus {
    /// Starts the listening task; it reconnects after a lost connection.
    pub fn start(pool: PgPool) -> Arc<Self> {
        let bus = Arc::new(Self { pool: pool.clone(), local: LocalBus::default() });
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
        match serde_json::from_str::<LiveEvent>(notification.payload()) {
            Ok(event) => {
                let _ = sender.send(event);
            }
            Err(e) => tracing::warn!(error = %e, "unreadable live notification"),
        }
    }
}

impl LiveBus for PgBus {
    fn publish(&self, event: LiveEvent) {
        let pool = self.pool.clone();
        tokio::spawn(async move {
            let payload = match serde_json::to_string(&event) {
                Ok(payload) => payload,
                Err(e) => return tracing::warn!(error = %e, "live event not serialisable"),
            };
            if let Err(e) = sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(payload).execute(&pool).await {
                tracing::warn!(error = %e, "live event not published");
            }
        });
    }

    fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.local.subscribe()
    }
}
