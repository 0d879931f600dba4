//! A stand-in for Shotgun: `GET /tickets` (Tickets API: Bearer or `?token=`, `after` cursor
//! `<updated>_<id>`, full pages carry `pagination.next` with the token in it),
//! `GET /organizers/{id}/events` (Smartboard, `?key=`, `page`, `limit`, `past_events`), and
//! `POST /scans`, which records the scans Billetix pushes.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Fault, bind, json_response, spawn};

/// Tickets in Shotgun's order: update time, then id.
type TicketKey = (String, u64);

#[derive(Default)]
struct Inner {
    tickets: BTreeMap<TicketKey, Value>,
    keys: HashMap<u64, TicketKey>,
    events: Vec<Value>,
    faults: VecDeque<Fault>,
    pushes: Vec<Value>,
    push_faults: VecDeque<Fault>,
    ticket_requests: u64,
    clock: u64,
    /// A broken partner: every page after the first says "more" from the place it was asked.
    stuck_cursor: bool,
}

#[derive(Clone)]
pub struct ShotgunStandIn {
    pub url: String,
    pub token: String,
    pub organizer_id: u64,
    pub page_size: usize,
    inner: Arc<Mutex<Inner>>,
}

#[derive(Deserialize)]
struct TicketsQuery {
    organizer_id: Option<u64>,
    event_id: Option<u64>,
    after: Option<String>,
    token: Option<String>,
}

#[derive(Deserialize)]
struct EventsQuery {
    key: Option<String>,
    page: Option<usize>,
    limit: Option<usize>,
    past_events: Option<String>,
}

impl ShotgunStandIn {
    pub async fn start(token: &str, organizer_id: u64, page_size: usize) -> std::io::Result<Self> {
        let (listener, url) = bind().await?;
        let stand_in = Self {
            url,
            token: token.to_owned(),
            organizer_id,
            page_size,
            inner: Arc::default(),
        };
        let router = Router::new()
            .route("/tickets", get(tickets))
            .route("/organizers/{organizer}/events", get(events))
            .route("/scans", post(scans))
            .with_state(stand_in.clone());
        spawn(listener, router);
        Ok(stand_in)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds or replaces (same `ticket_id`) a ticket; its update time moves forward.
    pub fn put_ticket(&self, mut ticket: Value) {
        let mut inner = self.lock();
        inner.clock += 1;
        let updated = format!("2026-01-01T00:00:00.{:06}Z", inner.clock);
        ticket["ticket_updated_at"] = Value::String(updated.clone());
        let id = ticket["ticket_id"].as_u64().unwrap_or_default();
        if let Some(old) = inner.keys.insert(id, (updated.clone(), id)) {
            inner.tickets.remove(&old);
        }
        inner.tickets.insert((updated, id), ticket);
    }

    /// A valid ticket of `event_id` with the usual fields.
    pub fn ticket(id: u64, event_id: u64, scan_code: &str, status: &str, deal: &str) -> Value {
        json!({
            "ticket_id": id, "ticket_scan_code": scan_code, "ticket_scanned_at": null, "ticket_canceled_at": null,
            "ticket_status": status, "ticket_seating": null, "deal_id": 1, "deal_title": deal, "deal_sub_category": null,
            "deal_channel": "online", "deal_price": 2500, "currency": "EUR", "order_id": id * 10,
            "ordered_at": "2025-12-01T10:00:00", "event_id": event_id, "event_name": "Concert",
            "contact_first_name": "Holder", "contact_last_name": format!("N{id}"), "contact_email": format!("h{id}@example.org"),
        })
    }

    pub fn put_event(&self, event: Value) {
        self.lock().events.push(event);
    }

    /// The next requests to `/tickets` get these faults, in order.
    pub fn fail_next(&self, fault: Fault) {
        self.lock().faults.push_back(fault);
    }

    pub fn fail_next_push(&self, fault: Fault) {
        self.lock().push_faults.push_back(fault);
    }

    pub fn pushes(&self) -> Vec<Value> {
        self.lock().pushes.clone()
    }

    /// From now on, every page asked with a cursor says there is more from that same cursor.
    pub fn repeat_cursors(&self) {
        self.lock().stuck_cursor = true;
    }

    pub fn ticket_requests(&self) -> u64 {
        self.lock().ticket_requests
    }

    fn authorised(&self, headers: &HeaderMap, query_token: Option<&str>) -> bool {
        let bearer = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        bearer.or(query_token) == Some(self.token.as_str())
    }
}

async fn tickets(State(s): State<ShotgunStandIn>, headers: HeaderMap, Query(q): Query<TicketsQuery>) -> Response {
    if !s.authorised(&headers, q.token.as_deref()) {
        return (StatusCode::UNAUTHORIZED, "invalid token").into_response();
    }
    if q.organizer_id != Some(s.organizer_id) {
        return (StatusCode::BAD_REQUEST, "organizer_id is required").into_response();
    }
    let page = {
        let mut inner = s.lock();
        inner.ticket_requests += 1;
        let after = q.after.as_deref().map(|a| match a.rsplit_once('_') {
            Some((date, id)) => (date.to_owned(), id.parse::<u64>().unwrap_or(0)),
            None => (a.to_owned(), u64::MAX),
        });
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        let page: Vec<Value> = inner
            .tickets
            .range((start, Bound::Unbounded))
            .map(|(_, t)| t)
            .filter(|t| q.event_id.is_none_or(|e| t["event_id"].as_u64() == Some(e)))
            .take(s.page_size)
            .cloned()
            .collect();
        (page, inner.faults.pop_front(), inner.stuck_cursor)
    };
    let (page, fault, stuck) = page;
    let next = (page.len() == s.page_size || stuck).then(|| {
        let last = page.last().map(|t| format!("{}_{}", t["ticket_updated_at"].as_str().unwrap_or_default(), t["ticket_id"])).unwrap_or_default();
        let last = q.after.clone().filter(|_| stuck).unwrap_or(last);
        let mut url = reqwest::Url::parse(&format!("{}/tickets", s.url)).expect("stand-in address");
        url.query_pairs_mut()
            .append_pair("organizer_id", &s.organizer_id.to_string())
            .append_pair("token", &s.token)
            .append_pair("after", &last);
        if let Some(event) = q.event_id {
            url.query_pairs_mut().append_pair("event_id", &event.to_string());
        }
        url.to_string()
    });
    let body = json!({ "params": { "organizer_id": s.organizer_id }, "pagination": { "next": next }, "data": page }).to_string();
    match fault {
        Some(fault) => fault.respond(body).await,
        None => json_response(body),
    }
}

async fn events(State(s): State<ShotgunStandIn>, Path(organizer): Path<u64>, Query(q): Query<EventsQuery>) -> Response {
    if q.key.as_deref() != Some(s.token.as_str()) {
        return (StatusCode::UNAUTHORIZED, "invalid key").into_response();
    }
    if organizer != s.organizer_id {
        return (StatusCode::NOT_FOUND, "no such organizer").into_response();
    }
    let past = q.past_events.is_some();
    let limit = q.limit.unwrap_or(20);
    let page = q.page.unwrap_or(0);
    let inner = s.lock();
    let selected: Vec<&Value> = inner.events.iter().filter(|e| e["past"].as_bool().unwrap_or(false) == past).collect();
    let body: Vec<&Value> = selected.into_iter().skip(page * limit).take(limit).collect();
    Json(body).into_response()
}

async fn scans(State(s): State<ShotgunStandIn>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if !s.authorised(&headers, None) {
        return (StatusCode::UNAUTHORIZED, "invalid token").into_response();
    }
    let fault = s.lock().push_faults.pop_front();
    if let Some(fault) = fault {
        return fault.respond("{}".to_owned()).await;
    }
    s.lock().pushes.push(body);
    StatusCode::NO_CONTENT.into_response()
}
