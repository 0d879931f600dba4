//! Pushes admitted scans (refused ones too where the partner records them) to partners that
//! want them (Shotgun, SecuTix, TIXNGO), in scan order, from the scan log itself: the
//! attachment's cursor moves only past scans the partner took, so a failure
//! or a restart retries them, and a lease keeps two processes from pushing the same one.
//! Cancellations go the same way to partners that hold copies of tickets another source
//! cancelled (TIXNGO's wallet), from the tickets table: a ticket is marked once the partner
//! took its cancellation.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::ssr::now_millis;
use app::ssr::storage::{Millis, SourceRecord, StorageError};
use app::domain::{FieldValues, SourceId, SourceKind};
use app::engine::PerformanceId;
use tokio::time::Instant;

use super::ConnectorError;
use super::scheduler::Partners;

/// A scan is pushed once it is this old: an earlier id committed a little later is not skipped.
const SETTLE_MS: Millis = 2_000;
const BATCH: u32 = 100;
const LEASE_MS: Millis = 30_000;
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Attachments pushed at once, each in a task of its own: a slow partner holds only its own.
const CONCURRENT_PUSHES: usize = 4;
/// An attachment's pass stops after this long, well within its lease (what it pushed counts,
/// the rest goes at the next pass), so a partner that answers slowly cannot hold its task.
const PUSH_BUDGET: Duration = Duration::from_secs(20);

/// The kinds whose connectors push scans or cancellations.
const PUSHING_KINDS: [SourceKind; 3] = [SourceKind::Shotgun, SourceKind::Secutix, SourceKind::Tixngo];

/// When each attachment whose partner failed may be tried again, the wait that led there, and
/// the scans it left waiting.
type Backoff = Arc<Mutex<HashMap<(PerformanceId, SourceId), (Instant, Duration, usize)>>>;

impl Partners {
    pub fn spawn_pusher(self, tick: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let backoff = Backoff::default();
            loop {
                tokio::time::sleep(tick).await;
                if let Err(e) = self.push_due(&backoff).await {
                    tracing::error!(error = %e, "scan pusher");
                }
            }
        })
    }

    /// One pass of the pusher (tests run it when they choose).
    pub async fn push_now(&self) -> Result<(), StorageError> {
        self.push_due(&Backoff::default()).await
    }

    async fn push_due(&self, backoff: &Backoff) -> Result<(), StorageError> {
        let permits = Arc::new(tokio::sync::Semaphore::new(CONCURRENT_PUSHES));
        let mut pushes = tokio::task::JoinSet::new();
        // Scans waiting for their partner: those of attachments waiting out a failure, as they
        // were left, and those of the others after this pass.
        let mut waiting = 0;
        for kind in PUSHING_KINDS {
            for (performance, source, options) in self.storage.attachments_of_kind(kind).await? {
                let backing_off = backoff
                    .lock()
                    .ok()
                    .and_then(|b| b.get(&(performance, source.id)).filter(|(until, _, _)| Instant::now() < *until).map(|(_, _, left)| *left));
                if let Some(left) = backing_off {
                    waiting += left;
                    continue;
                }
                let (partners, permits, backoff) = (self.clone(), permits.clone(), backoff.clone());
                pushes.spawn(async move {
                    let _permit = permits.acquire_owned().await;
                    partners.push_attachment(performance, source, options, &backoff).await
                });
            }
        }
        let mut outcome = Ok(());
        while let Some(done) = pushes.join_next().await {
            match done {
                Ok(Err(e)) => outcome = Err(e),
                Err(e) => tracing::error!(error = %e, "push task failed"),
                Ok(Ok(left)) => waiting += left,
            }
        }
        if outcome.is_ok() {
            metrics::gauge!(crate::metrics::PUSH_QUEUE).set(waiting as f64);
        }
        outcome
    }

    /// Pushes one attachment's pending scans and cancellations, within `PUSH_BUDGET`: the scans
    /// read as pending and not pushed.
    async fn push_attachment(&self, performance: PerformanceId, source: SourceRecord, options: FieldValues, backoff: &Backoff) -> Result<usize, StorageError> {
        let key = (performance, source.id);
        let Ok(connector) = self.connector_for(&source) else { return Ok(0) };
        let (scans, cancellations) = (connector.pushes_scans(&options), connector.pushes_cancellations(&options));
        if !scans && !cancellations {
            return Ok(0);
        }
        let lease = format!("push:{performance}:{}", source.id);
        let now = now_millis();
        if !self.storage.try_lease(&lease, &self.owner, now, now + LEASE_MS).await? {
            return Ok(0);
        }
        let deadline = Instant::now() + PUSH_BUDGET;
        let mut pushed = None;
        let mut failure = None;
        let mut left = 0;
        if scans {
            let pending = self.storage.pending_pushes(performance, source.id, now - SETTLE_MS, BATCH, connector.pushes_refusals()).await?;
            left = pending.len();
            for scan in &pending {
                match tokio::time::timeout_at(deadline, connector.push_scan(&options, scan)).await {
                    Ok(Ok(())) => {
                        pushed = Some(scan.scan_id);
                        left -= 1;
                    }
                    Ok(Err(e)) => {
                        failure = Some(e);
                        break;
                    }
                    // Out of time: the rest waits for the next pass, no failure to show.
                    Err(_) => break,
                }
            }
        }
        let mut cancelled = false;
        if cancellations && failure.is_none() && Instant::now() < deadline {
            let pending = self.storage.pending_cancellations(performance, source.id, BATCH).await?;
            let mut taken = Vec::with_capacity(pending.len());
            for ticket in &pending {
                match tokio::time::timeout_at(deadline, connector.push_cancellation(&options, ticket)).await {
                    Ok(Ok(())) => taken.push(ticket.ticket_id),
                    Ok(Err(e)) => {
                        failure = Some(e);
                        break;
                    }
                    Err(_) => break,
                }
            }
            self.storage.cancellations_pushed(&taken, now_millis()).await?;
            cancelled = !taken.is_empty();
        }
        if let Ok(mut backoff) = backoff.lock() {
            if let Some(e) = &failure {
                let wait = match e {
                    ConnectorError::RateLimited { retry_after } => *retry_after,
                    _ => backoff.get(&key).map_or(Duration::from_secs(1), |(_, last, _)| (*last * 2).min(MAX_BACKOFF)),
                };
                backoff.insert(key, (Instant::now() + wait, wait, left));
            } else {
                backoff.remove(&key);
            }
        }
        if let Some(e) = &failure {
            tracing::warn!(source = %source.id, %performance, error = %e, "push to the partner failed; retrying later");
        }
        if pushed.is_some() || cancelled || failure.is_some() {
            let message = failure.map(|e| e.to_string());
            self.storage.pushed(performance, source.id, pushed.unwrap_or(0), message.as_deref()).await?;
        }
        self.storage.release_lease(&lease, &self.owner).await?;
        Ok(left)
    }
}
