//! What every web-service connector does with HTTP: pace requests to the partner's rate
//! limit, map failures to [`ConnectorError`] without ever putting a URL (which may carry a
//! token) into an error or a log, and read JSON bodies.

use std::time::Duration;

use serde::de::DeserializeOwned;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::ConnectorError;

/// When the partner sends 429 without saying how long to wait.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Spaces requests evenly: at most `per_minute` a minute from this source.
pub struct Pacer {
    interval: Duration,
    next: Mutex<Instant>,
}

impl Pacer {
    pub fn per_minute(per_minute: u64) -> Self {
        let interval = if per_minute == 0 { Duration::ZERO } else { Duration::from_secs(60) / per_minute.min(60_000) as u32 };
        Self { interval, next: Mutex::new(Instant::now()) }
    }

    pub async fn wait(&self) {
        let mut next = self.next.lock().await;
        let now = Instant::now();
        if *next > now {
            tokio::time::sleep_until(*next).await;
        }
        *next = Instant::now().max(*next) + self.interval;
    }
}

/// `path` under the base address's path (the base may carry a path of its own).
pub fn endpoint(base: &reqwest::Url, path: &str) -> reqwest::Url {
    let mut url = base.clone();
    let joined = format!("{}/{}", url.path().trim_end_matches('/'), path.trim_start_matches('/'));
    url.set_path(&joined);
    url
}

/// The largest answer read from a partner: a page of tickets is a few megabytes at most.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Sends the request and reads a JSON body of type `T`, of at most `MAX_BODY_BYTES`.
pub async fn json<T: DeserializeOwned>(request: reqwest::RequestBuilder) -> Result<T, ConnectorError> {
    let mut response = send(request).await?;
    let too_large = || ConnectorError::Malformed(format!("the answer is larger than {} MB", MAX_BODY_BYTES / 1024 / 1024));
    if response.content_length().is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|e| ConnectorError::Malformed(e.to_string()))
}

/// Sends the request; any answer but a success becomes an error.
pub async fn send(request: reqwest::RequestBuilder) -> Result<reqwest::Response, ConnectorError> {
    let response = request.send().await.map_err(transport)?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    Err(match status.as_u16() {
        code @ (401 | 403) => ConnectorError::Unauthorized(code),
        429 => ConnectorError::RateLimited {
            retry_after: response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map_or(DEFAULT_RETRY_AFTER, Duration::from_secs),
        },
        code => ConnectorError::Status(code),
    })
}

fn transport(e: reqwest::Error) -> ConnectorError {
    if e.is_timeout() {
        ConnectorError::Timeout
    } else if e.is_decode() || e.is_body() {
        ConnectorError::Malformed(e.without_url().to_string())
    } else {
        ConnectorError::Network(e.without_url().to_string())
    }
}
