//! Pushes admitted scans (refused ones too where the partner records them) to partners that
//! want them (Shotgun, SecuTix, TIXNGO), in scan order, from the scan log itself: the
//! attachment's cursor moves only past scans the partner took, so a failure
//! or a restart retries them, and a lease keeps two processes from pushing the same one.
//! Cancellations go the same way to partners that hold copies of tickets another source
//! cancelled (TIXNGO's wallet), from the tickets table: a ticket is marked once the partner
//! took its cancellation.

use std::collections::HashMap;
use std::time::Duration;

use app::backend::now_millis;
use app::backend::storage::{Millis, StorageError};
use app::domain::{SourceId, SourceKind};
use app::engine::PerformanceId;
use tokio::time::Instant;

use super::ConnectorError;
use super::scheduler::Partners;

/// A scan is pushed once it is this old: an earlier id committed a little later is not skipped.
const SETTLE_MS: Millis = 2_000;
const BATCH: u32 = 100;
const LEASE_MS: Millis = 30_000;
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// The kinds whose connectors push scans or cancellations.
const PUSHING_KINDS: [SourceKind; 3] = [SourceKind::Shotgun, SourceKind::Secutix, SourceKind::Tixngo];

impl Partners {
    pub fn spawn_pusher(self, tick: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut backoff: HashMap<(PerformanceId, SourceId), (Instant, Duration)> = HashMap::new();
            loop {
                tokio::time::sleep(tick).await;
                if let Err(e) = self.push_due(&mut backoff).await {
                    tracing::error!(error = %e, "scan pusher");
                }
            }
        })
    }

    /// One pass of the pusher (tests run it when they choose).
    pub async fn push_now(&self) -> Result<(), StorageError> {
        self.push_due(&mut HashMap::new()).await
    }

    async fn push_due(&self, backoff: &mut HashMap<(PerformanceId, SourceId), (Instant, Duration)>) -> Result<(), StorageError> {
        for kind in PUSHING_KINDS {
            for (performance, source, options) in self.storage.attachments_of_kind(kind).await? {
                let key = (performance, source.id);
                if backoff.get(&key).is_some_and(|(until, _)| Instant::now() < *until) {
                    continue;
                }
                let Ok(connector) = self.connector_for(&source) else { continue };
                let (scans, cancellations) = (connector.pushes_scans(&options), connector.pushes_cancellations(&options));
                if !scans && !cancellations {
                    continue;
                }
                let lease = format!("push:{performance}:{}", source.id);
                let now = now_millis();
                if !self.storage.try_lease(&lease, &self.owner, now, now + LEASE_MS).await? {
                    continue;
                }
                let mut pushed = None;
                let mut failure = None;
                if scans {
                    let pending = self.storage.pending_pushes(performance, source.id, now - SETTLE_MS, BATCH, connector.pushes_refusals()).await?;
                    for scan in &pending {
                        match connector.push_scan(&options, scan).await {
                            Ok(()) => pushed = Some(scan.scan_id),
                            Err(e) => {
                                failure = Some(e);
                                break;
                            }
                        }
                    }
                }
                let mut cancelled = false;
                if cancellations && failure.is_none() {
                    let pending = self.storage.pending_cancellations(performance, source.id, BATCH).await?;
                    let mut taken = Vec::with_capacity(pending.len());
                    for ticket in &pending {
                        match connector.push_cancellation(&options, ticket).await {
                            Ok(()) => taken.push(ticket.ticket_id),
                            Err(e) => {
                                failure = Some(e);
                                break;
                            }
                        }
                    }
                    self.storage.cancellations_pushed(&taken, now_millis()).await?;
                    cancelled = !taken.is_empty();
                }
                if let Some(e) = &failure {
                    let wait = match e {
                        ConnectorError::RateLimited { retry_after } => *retry_after,
                        _ => backoff.get(&key).map_or(Duration::from_secs(1), |(_, last)| (*last * 2).min(MAX_BACKOFF)),
                    };
                    backoff.insert(key, (Instant::now() + wait, wait));
                    tracing::warn!(source = %source.id, %performance, error = %e, "push to the partner failed; retrying later");
                } else {
                    backoff.remove(&key);
                }
                if pushed.is_some() || cancelled || failure.is_some() {
                    let message = failure.map(|e| e.to_string());
                    self.storage.pushed(performance, source.id, pushed.unwrap_or(0), message.as_deref()).await?;
                }
                self.storage.release_lease(&lease, &self.owner).await?;
            }
        }
        Ok(())
    }
}
