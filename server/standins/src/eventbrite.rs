//! A stand-in for Eventbrite: `GET /v3/events/{id}/attendees/` with a Bearer token,
//! `changed_since` (UTC ISO, inclusive) and `continuation`; answers `attendees` in change
//! order and `pagination{continuation, has_more_items}`, `page_size` a page.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, TimeDelta};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Shared, bind, spawn};

#[derive(Default)]
pub struct Data {
    /// By attendee id.
    attendees: BTreeMap<u64, Value>,
    clock: i64,
}

#[derive(Clone)]
pub struct EventbriteStandIn {
    pub url: String,
    pub token: String,
    pub page_size: usize,
    pub shared: Shared<Data>,
}

#[derive(Deserialize)]
struct AttendeesQuery {
    changed_since: Option<String>,
    continuation: Option<String>,
}

impl EventbriteStandIn {
    pub async fn start(token: &str, page_size: usize) -> std::io::Result<Self> {
        let (listener, url) = bind().await?;
        let stand_in = Self { url, token: token.to_owned(), page_size: page_size.max(1), shared: Shared::default() };
        let router = Router::new().route("/v3/events/{event}/attendees/", get(attendees)).with_state(stand_in.clone());
        spawn(listener, router);
        Ok(stand_in)
    }

    /// An attending attendee of `event` with one unused barcode per code given.
    pub fn attendee(id: u64, event: &str, barcodes: &[&str], ticket_class: &str) -> Value {
        let barcodes: Vec<Value> = barcodes.iter().map(|b| json!({"barcode": b, "status": "unused", "changed": null})).collect();
        json!({
            "id": id.to_string(), "event_id": event, "ticket_class_name": ticket_class, "status": "Attending",
            "checked_in": false, "cancelled": false, "refunded": false,
            "profile": {"first_name": "Holder", "last_name": format!("E{id}"), "email": format!("e{id}@example.org")},
            "barcodes": barcodes,
        })
    }

    /// Adds or replaces (same `id`) an attendee; its `changed` time moves on a second.
    pub fn put(&self, mut attendee: Value) {
        self.shared.with(|d| {
            d.clock += 1;
            let changed = (DateTime::UNIX_EPOCH + TimeDelta::seconds(1_780_000_000 + d.clock)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
            attendee["changed"] = json!(changed);
            let id = attendee["id"].as_str().and_then(|s| s.parse().ok()).unwrap_or_default();
            d.attendees.insert(id, attendee);
        });
    }
}

async fn attendees(State(s): State<EventbriteStandIn>, headers: HeaderMap, Path(event): Path<String>, Query(q): Query<AttendeesQuery>) -> Response {
    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if bearer != Some(s.token.as_str()) {
        return (StatusCode::UNAUTHORIZED, json!({"error": "INVALID_AUTH"}).to_string()).into_response();
    }
    // The continuation is an offset into the same selection, as opaque to the client.
    let offset: usize = q.continuation.as_deref().and_then(|c| c.strip_prefix("off-")).and_then(|o| o.parse().ok()).unwrap_or(0);
    let body = s.shared.with(|d| {
        let mut selected: Vec<&Value> = d
            .attendees
            .values()
            .filter(|a| a["event_id"] == event.as_str())
            // ISO times in one format sort as text.
            .filter(|a| q.changed_since.as_deref().is_none_or(|since| a["changed"].as_str().unwrap_or_default() >= since))
            .collect();
        selected.sort_by_key(|a| (a["changed"].as_str().unwrap_or_default().to_owned(), a["id"].as_str().unwrap_or_default().to_owned()));
        let page: Vec<&Value> = selected.iter().skip(offset).take(s.page_size).copied().collect();
        let has_more = offset + page.len() < selected.len();
        let continuation = has_more.then(|| format!("off-{}", offset + page.len()));
        json!({
            "pagination": {"object_count": selected.len(), "page_size": s.page_size, "has_more_items": has_more, "continuation": continuation},
            "attendees": page,
        })
        .to_string()
    });
    s.shared.answer(body).await
}
