//! A stand-in for Billetweb: `GET /api/event/{id}/attendees` (`user`, `key`, `version=1`,
//! `last_update` in unix seconds; every attendee changed after it, no pagination) and
//! `GET /api/events`.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Shared, bind, spawn};

/// Billetweb's clock starts here, one second a change.
const EPOCH: u64 = 1_780_000_000;

#[derive(Default)]
pub struct Data {
    /// By attendee id.
    attendees: BTreeMap<u64, Value>,
    events: Vec<Value>,
    clock: u64,
    last_since: Option<u64>,
}

#[derive(Clone)]
pub struct BilletwebStandIn {
    pub url: String,
    pub user: String,
    pub key: String,
    pub shared: Shared<Data>,
}

#[derive(Deserialize)]
struct AuthQuery {
    user: Option<String>,
    key: Option<String>,
    version: Option<String>,
    last_update: Option<u64>,
}

impl BilletwebStandIn {
    pub async fn start(user: &str, key: &str) -> std::io::Result<Self> {
        let (listener, url) = bind().await?;
        let stand_in = Self { url, user: user.to_owned(), key: key.to_owned(), shared: Shared::default() };
        let router = Router::new()
            .route("/api/event/{event}/attendees", get(attendees))
            .route("/api/events", get(events))
            .with_state(stand_in.clone());
        spawn(listener, router);
        Ok(stand_in)
    }

    /// A paid attendee of `event`, not used.
    pub fn attendee(id: u64, event: &str, barcode: &str, ticket: &str) -> Value {
        json!({
            "id": id.to_string(), "event": event, "barcode": barcode, "used": 0, "used_date": null, "firstname": "Holder",
            "name": format!("B{id}"), "email": format!("b{id}@example.org"), "ticket": ticket, "category": "",
            "disabled": "0", "order_paid": "1",
        })
    }

    /// Adds or replaces (same `id`) an attendee; its `last_update` moves on.
    pub fn put(&self, mut attendee: Value) {
        self.shared.with(|d| {
            d.clock += 1;
            attendee["last_update"] = json!((EPOCH + d.clock).to_string());
            let id = attendee["id"].as_str().and_then(|s| s.parse().ok()).unwrap_or_default();
            d.attendees.insert(id, attendee);
        });
    }

    pub fn put_event(&self, event: Value) {
        self.shared.with(|d| d.events.push(event));
    }

    /// The `last_update` of the latest attendees request.
    pub fn last_since(&self) -> Option<u64> {
        self.shared.with(|d| d.last_since)
    }

    fn authorised(&self, q: &AuthQuery) -> bool {
        q.user.as_deref() == Some(self.user.as_str()) && q.key.as_deref() == Some(self.key.as_str()) && q.version.as_deref() == Some("1")
    }
}

async fn attendees(State(s): State<BilletwebStandIn>, Path(event): Path<String>, Query(q): Query<AuthQuery>) -> Response {
    if !s.authorised(&q) {
        return (StatusCode::FORBIDDEN, "bad user or key").into_response();
    }
    let body = s.shared.with(|d| {
        d.last_since = q.last_update;
        let list: Vec<&Value> = d
            .attendees
            .values()
            .filter(|a| a["event"] == event.as_str())
            .filter(|a| {
                let updated = a["last_update"].as_str().and_then(|t| t.parse::<u64>().ok()).unwrap_or(0);
                q.last_update.is_none_or(|since| updated > since)
            })
            .collect();
        json!(list).to_string()
    });
    s.shared.answer(body).await
}

async fn events(State(s): State<BilletwebStandIn>, Query(q): Query<AuthQuery>) -> Response {
    if !s.authorised(&q) {
        return (StatusCode::FORBIDDEN, "bad user or key").into_response();
    }
    Json(s.shared.with(|d| d.events.clone())).into_response()
}
