//! Refreshes web-service sources: each attachment on its long period, on its short period
//! within the window before the show, never after the performance's import end (unless a
//! person asks). A source is refreshed by one server process at a time (a lease in the
//! database); imports are committed a page at a time with their cursor, so a partner error
//! keeps what was imported and the next refresh goes on from there.

use std::sync::Arc;
use std::time::Duration;

use app::ssr::now_millis;
use app::ssr::storage::{DueAttachment, Millis, SourceRecord, Storage, StorageError};
use app::domain::{ImportSummary, RefreshPeriods};
use tokio::sync::Notify;

use super::secrets::SecretBox;
use super::{Connector, ConnectorError, PartnerHttp, connector};

/// How long a lease lasts without renewal: a process that dies frees its sources after this.
const LEASE_MS: Millis = 60_000;
/// 429 answers retried in one refresh before giving up until the next.
const RATE_LIMIT_RETRIES: u32 = 5;
const LONGEST_WAIT: Duration = Duration::from_secs(120);
/// One refresh takes at most this many pages and this long; what it imported stays, the error
/// is shown on the source, and the next refresh goes on from its cursor. A partner that never
/// says "no more" cannot hold a refresher.
const MAX_PAGES_PER_REFRESH: u32 = 2_000;
const MAX_REFRESH_TIME: Duration = Duration::from_secs(15 * 60);
/// Sources refreshed at once by one process: each in its own task, so a slow partner holds its
/// own source only.
const CONCURRENT_REFRESHES: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("{0}")]
    Partner(#[from] ConnectorError),
    #[error("the stored secrets cannot be opened: {0}")]
    Secrets(#[from] super::secrets::OpenError),
    #[error("storage failure: {0}")]
    Storage(#[from] StorageError),
    #[error("the partner gave the same cursor twice and said there was more: the refresh stopped there")]
    CursorRepeated,
    #[error("the refresh stopped after {pages} pages or {minutes} minutes; the next one goes on from there")]
    OverBudget { pages: u32, minutes: u64 },
}

/// Everything the refresher and the pusher need, shared by the server's tasks.
#[derive(Clone)]
pub struct Partners {
    pub storage: Arc<dyn Storage>,
    pub secrets: SecretBox,
    pub http: PartnerHttp,
    /// This process, in leases.
    pub owner: String,
    pub wake: Arc<Notify>,
}

impl Partners {
    pub fn new(storage: Arc<dyn Storage>, secrets: SecretBox, http: PartnerHttp) -> Self {
        let owner = format!("{}-{}", std::process::id(), rand::random::<u32>());
        Self { storage, secrets, http, owner, wake: Arc::new(Notify::new()) }
    }

    pub fn connector_for(&self, source: &SourceRecord) -> Result<Box<dyn Connector>, RefreshError> {
        let secrets = match &source.sealed_secrets {
            Some(sealed) => self.secrets.open(sealed)?,
            None => Default::default(),
        };
        Ok(connector(source.kind, &source.settings, &secrets, &self.http)?)
    }

    /// Runs the refresher until the process ends, looking every `tick` and when woken.
    pub fn spawn_refresher(self, tick: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(tick) => {}
                    _ = self.wake.notified() => {}
                }
                if let Err(e) = self.refresh_due().await {
                    tracing::error!(error = %e, "source refresher");
                }
            }
        })
    }

    /// Refreshes every source due now that no other process holds, each in a task of its own
    /// (`CONCURRENT_REFRESHES` at once): one slow partner delays no other source.
    pub async fn refresh_due(&self) -> Result<(), StorageError> {
        let now = now_millis();
        let permits = Arc::new(tokio::sync::Semaphore::new(CONCURRENT_REFRESHES));
        let mut refreshes = tokio::task::JoinSet::new();
        for source in self.storage.due_sources(now).await? {
            let (partners, permits) = (self.clone(), permits.clone());
            refreshes.spawn(async move {
                let _permit = permits.acquire_owned().await;
                partners.refresh_one(source).await
            });
        }
        let mut outcome = Ok(());
        while let Some(done) = refreshes.join_next().await {
            match done {
                Ok(Err(e)) => outcome = Err(e),
                Err(e) => tracing::error!(error = %e, "source refresh task failed"),
                Ok(Ok(())) => {}
            }
        }
        outcome
    }

    async fn refresh_one(&self, source: app::domain::SourceId) -> Result<(), StorageError> {
        let now = now_millis();
        let lease = format!("refresh:{source}");
        if !self.storage.try_lease(&lease, &self.owner, now, now + LEASE_MS).await? {
            return Ok(());
        }
        if let Some(record) = self.storage.source(source).await? {
            self.refresh_source(&record, &lease).await?;
        }
        self.storage.release_lease(&lease, &self.owner).await
    }

    async fn refresh_source(&self, source: &SourceRecord, lease: &str) -> Result<(), StorageError> {
        let now = now_millis();
        let due = self.storage.due_attachments(source.id, now).await?;
        let connector = match self.connector_for(source) {
            Ok(connector) => connector,
            Err(e) => {
                for attachment in &due {
                    refreshed(source, "error", Duration::ZERO);
                    let next = next_refresh(attachment, source.periods, now);
                    self.storage.refresh_finished(attachment.performance, source.id, Some(&e.to_string()), next, now).await?;
                }
                return Ok(());
            }
        };
        for attachment in due {
            let started = std::time::Instant::now();
            let result = self.refresh_attachment(connector.as_ref(), source, &attachment, lease).await;
            refreshed(source, if result.is_ok() { "ok" } else { "error" }, started.elapsed());
            let now = now_millis();
            let error = match &result {
                Ok(summary) => {
                    tracing::info!(source = %source.id, performance = %attachment.performance, ?summary, "source refreshed");
                    None
                }
                Err(RefreshError::Storage(e)) => {
                    tracing::error!(source = %source.id, error = %e, "source refresh could not be stored");
                    Some("storage failure; see the server log".to_owned())
                }
                Err(e) => {
                    tracing::warn!(source = %source.id, performance = %attachment.performance, error = %e, "source refresh failed");
                    Some(e.to_string())
                }
            };
            let next = next_refresh(&attachment, source.periods, now);
            self.storage.refresh_finished(attachment.performance, source.id, error.as_deref(), next, now).await?;
        }
        Ok(())
    }

    /// Pulls pages until the partner has nothing more, each committed with its cursor.
    pub async fn refresh_attachment(
        &self,
        connector: &dyn Connector,
        source: &SourceRecord,
        attachment: &DueAttachment,
        lease: &str,
    ) -> Result<ImportSummary, RefreshError> {
        let (performance, id) = (attachment.performance, source.id);
        self.storage.refresh_started(performance, id).await?;
        let mut cursor = attachment.cursor.clone();
        let mut summary = ImportSummary::default();
        let mut seen = 0u64;
        let mut rate_limited = 0;
        let mut renewed_at = now_millis();
        let (started, mut pages) = (std::time::Instant::now(), 0u32);
        loop {
            if pages >= MAX_PAGES_PER_REFRESH || started.elapsed() >= MAX_REFRESH_TIME {
                return Err(RefreshError::OverBudget { pages: MAX_PAGES_PER_REFRESH, minutes: MAX_REFRESH_TIME.as_secs() / 60 });
            }
            pages += 1;
            let page = match connector.fetch_tickets(&attachment.options, cursor.as_deref()).await {
                Ok(page) => page,
                Err(ConnectorError::RateLimited { retry_after }) if rate_limited < RATE_LIMIT_RETRIES => {
                    rate_limited += 1;
                    tokio::time::sleep(retry_after.min(LONGEST_WAIT)).await;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            seen += page.tickets.len() as u64;
            // "More" from the same place again would be the same page forever.
            let repeated = page.more && page.cursor.is_some() && page.cursor == cursor;
            if page.cursor.is_some() {
                cursor = page.cursor;
            }
            summary.add(self.storage.import_page(performance, id, &page.tickets, cursor.as_deref(), seen, now_millis()).await?);
            // Renewed well before it runs out, not at every page: one commit fewer per page.
            let now = now_millis();
            if now - renewed_at >= LEASE_MS / 4 {
                self.storage.try_lease(lease, &self.owner, now, now + LEASE_MS).await?;
                renewed_at = now;
            }
            if repeated {
                return Err(RefreshError::CursorRepeated);
            }
            if !page.more {
                return Ok(summary);
            }
        }
    }
}

/// One refresh of an attachment, for `/metrics`.
fn refreshed(source: &SourceRecord, result: &'static str, took: Duration) {
    let partner = source.kind.code();
    metrics::counter!(crate::metrics::REFRESHES, "partner" => partner, "result" => result).increment(1);
    metrics::histogram!(crate::metrics::REFRESH_SECONDS, "partner" => partner).record(took.as_secs_f64());
}

/// Often close to the show, rarely far from it.
pub fn next_refresh(attachment: &DueAttachment, periods: RefreshPeriods, now: Millis) -> Millis {
    let minute = 60_000;
    let window = i64::from(periods.short_window_hours) * 60 * minute;
    let close = attachment.starts_at.is_some_and(|start| now >= start - window);
    let period = if close { periods.short_minutes } else { periods.long_minutes };
    now + i64::from(period.max(1)) * minute
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attachment(starts_at: Option<Millis>) -> DueAttachment {
        DueAttachment { performance: app::engine::PerformanceId(1), options: Default::default(), cursor: None, starts_at, import_end: None }
    }

    #[test]
    fn refreshes_come_often_within_the_window_and_rarely_before() {
        let periods = RefreshPeriods { long_minutes: 240, short_minutes: 5, short_window_hours: 24 };
        let hour = 3_600_000;
        let show = 100 * hour;
        assert_eq!(next_refresh(&attachment(Some(show)), periods, show - 48 * hour), show - 48 * hour + 4 * hour);
        assert_eq!(next_refresh(&attachment(Some(show)), periods, show - 2 * hour), show - 2 * hour + 5 * 60_000);
        assert_eq!(next_refresh(&attachment(None), periods, 0), 4 * hour);
    }
}
