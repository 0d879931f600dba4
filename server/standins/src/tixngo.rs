//! A stand-in for the TIXNGO wallet, in the shape the connector assumes (the real paths are
//! not public): `GET /organizer/tickets/diff?eventId=&cursor=&size=` (Bearer) serves the log of
//! status changes from `cursor` with `nextCursor` and `hasMore`; `POST
//! /organizer/tickets/control` records the controlled tickets it receives; `POST
//! /organizer/tickets/invalidate` records the cancelled ones (404 for a barcode it never
//! served) and moves them to DELETION_PENDING in its feed, as TIXNGO does.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Shared, bind, spawn};

#[derive(Default)]
pub struct Data {
    log: Vec<Value>,
}

#[derive(Clone)]
pub struct TixngoStandIn {
    pub url: String,
    pub api_key: String,
    pub shared: Shared<Data>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DiffQuery {
    event_id: Option<String>,
    cursor: Option<usize>,
    size: Option<usize>,
}

impl TixngoStandIn {
    pub async fn start(api_key: &str) -> std::io::Result<Self> {
        let (listener, url) = bind().await?;
        let stand_in = Self { url, api_key: api_key.to_owned(), shared: Shared::default() };
        let router = Router::new()
            .route("/organizer/tickets/diff", get(diff))
            .route("/organizer/tickets/control", post(control))
            .route("/organizer/tickets/invalidate", post(invalidate))
            .with_state(stand_in.clone());
        spawn(listener, router);
        Ok(stand_in)
    }

    /// A ticket of `event` in `status`.
    pub fn ticket(id: u64, event: &str, barcode: &str, status: &str, category: &str) -> Value {
        json!({"ticketId": format!("T-{id}"), "eventId": event, "barcode": barcode, "status": status, "category": category,
               "statusDate": "2030-06-01T18:00:00Z", "spectator": {"firstName": "Holder", "lastName": format!("X{id}")}})
    }

    /// A status change (appended to the feed).
    pub fn put(&self, ticket: Value) {
        self.shared.with(|d| d.log.push(ticket));
    }

    fn authorised(&self, headers: &HeaderMap) -> bool {
        let bearer = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        bearer == Some(self.api_key.as_str())
    }
}

async fn diff(State(s): State<TixngoStandIn>, headers: HeaderMap, Query(q): Query<DiffQuery>) -> Response {
    if !s.authorised(&headers) {
        return (StatusCode::UNAUTHORIZED, "bad API key").into_response();
    }
    let size = q.size.unwrap_or(1000).clamp(1, 1000);
    let start = q.cursor.unwrap_or(0);
    let body = s.shared.with(|d| {
        let start = start.min(d.log.len());
        let end = (start + size).min(d.log.len());
        let tickets: Vec<&Value> = d.log[start..end].iter().filter(|t| q.event_id.as_deref().is_none_or(|e| t["eventId"] == e)).collect();
        json!({"tickets": tickets, "nextCursor": end.to_string(), "hasMore": end < d.log.len()}).to_string()
    });
    s.shared.answer(body).await
}

async fn control(State(s): State<TixngoStandIn>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if !s.authorised(&headers) {
        return (StatusCode::UNAUTHORIZED, "bad API key").into_response();
    }
    s.shared.record_push(body, json!({"result": "OK"}).to_string()).await
}

async fn invalidate(State(s): State<TixngoStandIn>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if !s.authorised(&headers) {
        return (StatusCode::UNAUTHORIZED, "bad API key").into_response();
    }
    let held = s.shared.with(|d| d.log.iter().rev().find(|t| t["barcode"] == body["barcode"] && t["eventId"] == body["eventId"]).cloned());
    let Some(mut ticket) = held else {
        return (StatusCode::NOT_FOUND, "no such ticket").into_response();
    };
    let response = s.shared.record_push(body, json!({"result": "OK"}).to_string()).await;
    if response.status().is_success() {
        ticket["status"] = json!("DELETION_PENDING");
        s.put(ticket);
    }
    response
}
