//! `GET /metrics` in the Prometheus text format: what the server functions count
//! (`app::ssr::metrics`), what the server's own tasks count (live feeds, source refreshes, the
//! push queue, below), and the database pools' use, read at each scrape. Optionally behind a
//! bearer token (`BILLETIX_METRICS_TOKEN`).
//!
//! The recorder is global to the process: it is installed once, by the first router built, and
//! every router of the process (the tests start many) renders the same figures.

use std::sync::OnceLock;
use std::time::Duration;

use app::ssr::metrics::{SCAN_SECONDS, UPLOAD_SCANS};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::config::Secret;

/// Live feeds (`/live`) open on this process.
pub const LIVE_FEEDS: &str = "billetix_live_feeds";
/// Source refreshes by `partner` (the source's kind) and `result` (`ok`, `error`), and their time.
pub const REFRESHES: &str = "billetix_source_refreshes_total";
pub const REFRESH_SECONDS: &str = "billetix_source_refresh_duration_seconds";
/// Scans waiting for their partner after the pusher's last pass on this process (it reads at
/// most 100 an attachment at a time: 100 for one attachment means "100 or more").
pub const PUSH_QUEUE: &str = "billetix_push_queue_scans";
/// Request bodies of offline uploads (`/api/sync_upload`), in bytes.
pub const UPLOAD_BYTES: &str = "billetix_offline_upload_bytes";
/// Connections of each database pool (`pool`: `read`, `write`; `state`: `idle`, `in_use`), and
/// each pool's most.
pub const POOL_CONNECTIONS: &str = "billetix_db_pool_connections";
pub const POOL_MAX: &str = "billetix_db_pool_max_connections";

/// How often histograms are folded into their buckets when nobody scrapes (they hold their
/// samples until then).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The process's recorder, installed on first use; `None` if another recorder was there first.
pub fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE.get_or_init(install).as_ref()
}

fn install() -> Option<PrometheusHandle> {
    let milliseconds = [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];
    let scans = [1.0, 10.0, 100.0, 1_000.0, 10_000.0];
    let bytes = [1_000.0, 10_000.0, 100_000.0, 1_000_000.0, 10_000_000.0];
    let refreshes = [0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0];
    let built = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(SCAN_SECONDS.into()), &milliseconds)
        .and_then(|b| b.set_buckets_for_metric(Matcher::Full(UPLOAD_SCANS.into()), &scans))
        .and_then(|b| b.set_buckets_for_metric(Matcher::Full(UPLOAD_BYTES.into()), &bytes))
        .and_then(|b| b.set_buckets_for_metric(Matcher::Full(REFRESH_SECONDS.into()), &refreshes))
        .and_then(|b| b.install_recorder());
    match built {
        Ok(handle) => {
            describe();
            let upkeep = handle.clone();
            // A thread, not a task: the tests' runtimes end with each test, the process goes on.
            let spawned = std::thread::Builder::new().name("metrics-upkeep".into()).spawn(move || loop {
                std::thread::sleep(UPKEEP_EVERY);
                upkeep.run_upkeep();
            });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "metrics upkeep thread not started: histograms are folded at each scrape only");
            }
            Some(handle)
        }
        Err(e) => {
            tracing::error!(error = %e, "metrics recorder not installed: /metrics will answer 503");
            None
        }
    }
}

/// The `# HELP` lines.
fn describe() {
    use app::ssr::metrics::{SCANS, SIGN_INS, UPLOADS};
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(SCANS, "Scans recorded, by verdict, door mode and who decided (server: online; device: uploaded)");
    describe_histogram!(SCAN_SECONDS, Unit::Seconds, "Time the server took to answer an online scan");
    describe_counter!(UPLOADS, "Offline uploads received");
    describe_histogram!(UPLOAD_SCANS, Unit::Count, "Scans an offline upload carried");
    describe_histogram!(UPLOAD_BYTES, Unit::Bytes, "Size of an offline upload's request body");
    describe_counter!(SIGN_INS, "Sign-ins by result (success, wrong_credentials, disabled, delayed)");
    describe_gauge!(LIVE_FEEDS, "Live feeds (/live) open on this process");
    describe_counter!(REFRESHES, "Source refreshes of an attachment, by partner and result");
    describe_histogram!(REFRESH_SECONDS, Unit::Seconds, "Time a source refresh of an attachment took, by partner");
    describe_gauge!(PUSH_QUEUE, "Scans waiting to be pushed to their partner after this process's last pass (read 100 an attachment at most)");
    describe_gauge!(POOL_CONNECTIONS, "Database connections of each pool, idle or in use");
    describe_gauge!(POOL_MAX, "Most connections of each database pool");
}

/// Who may read `/metrics`: anyone who reaches it, or the holders of a bearer token.
#[derive(Clone, Default)]
pub struct MetricsAccess {
    pub token: Option<Secret>,
}

impl MetricsAccess {
    fn allows(&self, request: &Request) -> bool {
        let Some(token) = &self.token else { return true };
        let given = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        given.is_some_and(|given| same_secret(given.trim().as_bytes(), token.expose().as_bytes()))
    }
}

/// Compares in a time that does not depend on where the first difference is.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |differ, (x, y)| differ | (x ^ y)) == 0
}

pub async fn metrics(State(context): State<app::ssr::ServerContext>, State(access): State<MetricsAccess>, request: Request) -> Response {
    if !access.allows(&request) {
        let mut refused = StatusCode::UNAUTHORIZED.into_response();
        refused.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return refused;
    }
    let Some(handle) = handle() else { return StatusCode::SERVICE_UNAVAILABLE.into_response() };
    for pool in context.storage.pool_use() {
        let in_use = pool.open.saturating_sub(pool.idle);
        metrics::gauge!(POOL_CONNECTIONS, "pool" => pool.pool, "state" => "idle").set(f64::from(pool.idle));
        metrics::gauge!(POOL_CONNECTIONS, "pool" => pool.pool, "state" => "in_use").set(f64::from(in_use));
        metrics::gauge!(POOL_MAX, "pool" => pool.pool).set(f64::from(pool.max));
    }
    let mut response = handle.render().into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Counts the size of each offline upload as it arrives (the server function sees its scans,
/// not its bytes).
pub async fn count_upload_bytes(request: Request, next: Next) -> Response {
    if request.uri().path() == "/api/sync_upload" {
        let length = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<f64>().ok());
        if let Some(length) = length {
            metrics::histogram!(UPLOAD_BYTES).record(length);
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::same_secret;

    #[test]
    fn only_the_same_token_is_the_same() {
        assert!(same_secret(b"s3cret-token", b"s3cret-token"));
        assert!(!same_secret(b"s3cret-tokeN", b"s3cret-token"));
        assert!(!same_secret(b"s3cret", b"s3cret-token"));
        assert!(!same_secret(b"", b"x"));
    }
}
