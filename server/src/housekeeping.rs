//! The daily purge (SPEC §1): archived performances go, with their tickets and scans, two
//! years after their date (or the end of their validity). Purging is idempotent, so every process may run it; a lease spares the work
//! twice.

use std::sync::Arc;
use std::time::Duration;

use app::ssr::storage::{Millis, Storage, StorageResult};
use app::engine::PerformanceId;
use chrono::{DateTime, Months, Utc};

const EVERY: Duration = Duration::from_secs(24 * 3600);
const KEPT_MONTHS: u32 = 24;

/// The date before which performances are purged at `now`.
pub fn purge_cutoff(now: DateTime<Utc>) -> Millis {
    now.checked_sub_months(Months::new(KEPT_MONTHS)).unwrap_or(now).timestamp_millis()
}

/// Purges what is due at `now`, and logs each performance it removed.
pub async fn purge_once(storage: &dyn Storage, now: DateTime<Utc>) -> StorageResult<Vec<PerformanceId>> {
    let purged = storage.purge_performances(purge_cutoff(now)).await?;
    for performance in &purged {
        tracing::info!(%performance, "archived performance more than two years past purged, with its tickets and scans");
    }
    Ok(purged)
}

pub fn spawn_daily_purge(storage: Arc<dyn Storage>, owner: String) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let now = Utc::now();
            let millis = now.timestamp_millis();
            let lease = storage.try_lease("purge", &owner, millis, millis + EVERY.as_millis() as Millis / 2).await;
            if matches!(lease, Ok(true)) {
                if let Err(e) = purge_once(storage.as_ref(), now).await {
                    tracing::error!(error = %e, "purge failed");
                }
            }
            tokio::time::sleep(EVERY).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cutoff_is_two_calendar_years_back() {
        let now = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z").map(|t| t.with_timezone(&Utc)).expect("time");
        let cutoff = DateTime::parse_from_rfc3339("2024-11-22T10:00:00Z").map(|t| t.timestamp_millis()).expect("time");
        assert_eq!(purge_cutoff(now), cutoff);
    }
}
