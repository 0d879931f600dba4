//! Stand-ins for partner web services: local HTTP servers on random ports that serve the
//! shapes of `partners.md` (pagination, authentication) and misbehave on demand (429 with
//! Retry-After, 500, a stalled answer, malformed JSON, a truncated page). Tests and benchmarks
//! talk to them instead of the internet.

pub mod billetweb;
pub mod eventbrite;
pub mod secutix;
pub mod shotgun;
pub mod tixngo;
pub mod weezevent;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// One misbehaviour, served to the next request instead of the real answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    TooManyRequests { retry_after_secs: u64 },
    ServerError,
    /// Answers after this long (longer than the client's timeout makes a timeout).
    Stall(Duration),
    MalformedJson,
    /// The start of a valid page, cut in the middle.
    TruncatedPage,
}

impl Fault {
    /// The response for this fault, given the body a good answer would have had.
    pub async fn respond(self, good_body: String) -> Response {
        match self {
            Fault::TooManyRequests { retry_after_secs } => {
                let mut response = (StatusCode::TOO_MANY_REQUESTS, "slow down").into_response();
                if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
                response
            }
            Fault::ServerError => (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response(),
            Fault::Stall(duration) => {
                tokio::time::sleep(duration).await;
                json_response(good_body)
            }
            Fault::MalformedJson => json_response("{\"data\": [ {\"ticket_id\": ".to_owned()),
            Fault::TruncatedPage => {
                let half = good_body.len() / 2;
                let cut = (0..=half).rev().find(|i| good_body.is_char_boundary(*i)).unwrap_or(0);
                json_response(good_body[..cut].to_owned())
            }
        }
    }
}

pub fn json_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Serves `router` on 127.0.0.1 at a random port; returns its base address.
pub async fn serve(router: axum::Router) -> std::io::Result<String> {
    let (listener, url) = bind().await?;
    spawn(listener, router);
    Ok(url)
}

/// A listener on a random port and its base address, for stand-ins whose answers name
/// their own address (next-page links).
pub async fn bind() -> std::io::Result<(tokio::net::TcpListener, String)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    Ok((listener, format!("http://{address}")))
}

pub fn spawn(listener: tokio::net::TcpListener, router: axum::Router) {
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "stand-in server stopped");
        }
    });
}

/// A stand-in's data `D` with what every stand-in keeps besides: faults to serve, listing
/// requests counted, pushes received.
pub struct Shared<D> {
    inner: Arc<Mutex<Inner<D>>>,
}

#[derive(Default)]
struct Inner<D> {
    data: D,
    /// `None`: a good answer (a fault later in the refresh).
    faults: VecDeque<Option<Fault>>,
    push_faults: VecDeque<Fault>,
    pushes: Vec<serde_json::Value>,
    requests: u64,
}

impl<D> Clone for Shared<D> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone() }
    }
}

impl<D: Default> Default for Shared<D> {
    fn default() -> Self {
        Self { inner: Arc::default() }
    }
}

impl<D> Shared<D> {
    fn lock(&self) -> MutexGuard<'_, Inner<D>> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut D) -> R) -> R {
        f(&mut self.lock().data)
    }

    /// The next listing requests get these faults, in order.
    pub fn fail_next(&self, fault: Fault) {
        self.lock().faults.push_back(Some(fault));
    }

    /// The next listing request is answered well (so a fault queued after it hits a later page).
    pub fn pass_next(&self) {
        self.lock().faults.push_back(None);
    }

    pub fn fail_next_push(&self, fault: Fault) {
        self.lock().push_faults.push_back(fault);
    }

    pub fn pushes(&self) -> Vec<serde_json::Value> {
        self.lock().pushes.clone()
    }

    /// Listing requests answered so far (faults included).
    pub fn requests(&self) -> u64 {
        self.lock().requests
    }

    /// Counts a listing request and answers `body`, or the next fault instead.
    pub async fn answer(&self, body: String) -> Response {
        let fault = {
            let mut inner = self.lock();
            inner.requests += 1;
            inner.faults.pop_front().flatten()
        };
        match fault {
            Some(fault) => fault.respond(body).await,
            None => json_response(body),
        }
    }

    /// Records a pushed body and answers `ok`, unless a push fault is due.
    pub async fn record_push(&self, body: serde_json::Value, ok: String) -> Response {
        let fault = self.lock().push_faults.pop_front();
        if let Some(fault) = fault {
            return fault.respond(ok).await;
        }
        self.lock().pushes.push(body);
        json_response(ok)
    }
}
