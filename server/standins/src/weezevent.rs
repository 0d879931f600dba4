//! A stand-in for Weezevent: `POST /auth/access_token` (form `username`, `password`,
//! `api_key` → `accessToken`), `GET /participant/list` (`api_key`, `access_token`,
//! `id_event[]`, `last_update`, `include_deleted`, `max`, `page` from 0; answers
//! `participants` and `server_time`) and `GET /events`.

use std::collections::BTreeMap;

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Shared, bind, spawn};

#[derive(Default)]
pub struct Data {
    /// By participant id: (update tick, participant).
    participants: BTreeMap<u64, (u64, Value)>,
    events: Vec<Value>,
    clock: u64,
    tokens_issued: u64,
    access_token: Option<String>,
    /// The access token stops working after this many more listing requests.
    expires_after: Option<u64>,
}

#[derive(Clone)]
pub struct WeezeventStandIn {
    pub url: String,
    pub username: String,
    pub password: String,
    pub api_key: String,
    pub shared: Shared<Data>,
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
    api_key: String,
}

#[derive(Deserialize)]
struct ListQuery {
    api_key: Option<String>,
    access_token: Option<String>,
    #[serde(rename = "id_event[]")]
    id_event: Option<String>,
    last_update: Option<String>,
    include_deleted: Option<String>,
    max: Option<usize>,
    page: Option<usize>,
}

/// Weezevent's clock: `YYYY-MM-DD HH:MM:SS`, one second a tick.
fn time_of_tick(tick: u64) -> String {
    let start = NaiveDate::from_ymd_opt(2026, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).unwrap_or_default();
    (start + TimeDelta::seconds(i64::try_from(tick).unwrap_or(i64::MAX / 2))).format("%Y-%m-%d %H:%M:%S").to_string()
}

fn tick_of_time(text: &str) -> Option<u64> {
    let start = NaiveDate::from_ymd_opt(2026, 1, 1)?.and_hms_opt(0, 0, 0)?;
    let time = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").ok()?;
    u64::try_from((time - start).num_seconds()).ok()
}

impl WeezeventStandIn {
    pub async fn start(username: &str, password: &str, api_key: &str) -> std::io::Result<Self> {
        let (listener, url) = bind().await?;
        let stand_in = Self {
            url,
            username: username.to_owned(),
            password: password.to_owned(),
            api_key: api_key.to_owned(),
            shared: Shared::default(),
        };
        let router = Router::new()
            .route("/auth/access_token", post(access_token))
            .route("/participant/list", get(participants))
            .route("/events", get(events))
            .with_state(stand_in.clone());
        spawn(listener, router);
        Ok(stand_in)
    }

    /// A participant of `event` with the usual fields, neither deleted nor scanned.
    pub fn participant(id: u64, event: u64, barcode: &str, ticket: &str) -> Value {
        json!({
            "id_participant": id.to_string(), "id_event": event.to_string(), "id_ticket": ticket, "barcode": barcode,
            "deleted": "0", "refund": "0", "paid": "1", "control_status": {"status": "0", "scan_date": null},
            "owner": {"first_name": "Holder", "last_name": format!("W{id}"), "email": format!("w{id}@example.org")},
        })
    }

    /// Adds or replaces (same `id_participant`) a participant; its update time moves on.
    pub fn put(&self, participant: Value) {
        self.shared.with(|d| {
            d.clock += 1;
            let id = participant["id_participant"].as_str().and_then(|s| s.parse().ok()).unwrap_or_default();
            d.participants.insert(id, (d.clock, participant));
        });
    }

    pub fn put_event(&self, event: Value) {
        self.shared.with(|d| d.events.push(event));
    }

    /// The current access token expires after `requests` more participant listings.
    pub fn expire_token_after(&self, requests: u64) {
        self.shared.with(|d| d.expires_after = Some(requests));
    }

    /// Access tokens handed out so far.
    pub fn tokens_issued(&self) -> u64 {
        self.shared.with(|d| d.tokens_issued)
    }

    fn authorised(&self, key: Option<&str>, token: Option<&str>) -> bool {
        let current = self.shared.with(|d| d.access_token.clone());
        key == Some(self.api_key.as_str()) && token.is_some() && token == current.as_deref()
    }
}

async fn access_token(State(s): State<WeezeventStandIn>, Form(c): Form<Credentials>) -> Response {
    if (c.username, c.password, c.api_key) != (s.username.clone(), s.password.clone(), s.api_key.clone()) {
        return (StatusCode::UNAUTHORIZED, "bad credentials").into_response();
    }
    let token = s.shared.with(|d| {
        d.tokens_issued += 1;
        let token = format!("wz-access-{}", d.tokens_issued);
        d.access_token = Some(token.clone());
        token
    });
    Json(json!({ "accessToken": token })).into_response()
}

async fn participants(State(s): State<WeezeventStandIn>, Query(q): Query<ListQuery>) -> Response {
    s.shared.with(|d| match d.expires_after {
        Some(0) => {
            d.access_token = None;
            d.expires_after = None;
        }
        Some(n) => d.expires_after = Some(n - 1),
        None => {}
    });
    if !s.authorised(q.api_key.as_deref(), q.access_token.as_deref()) {
        return (StatusCode::UNAUTHORIZED, "invalid access token").into_response();
    }
    let since = q.last_update.as_deref().and_then(tick_of_time);
    let with_deleted = q.include_deleted.as_deref() == Some("true");
    let max = q.max.unwrap_or(100).max(1);
    let body = s.shared.with(|d| {
        let page: Vec<&Value> = d
            .participants
            .values()
            .filter(|(tick, p)| {
                since.is_none_or(|since| *tick > since)
                    && q.id_event.as_deref().is_none_or(|e| p["id_event"].as_str() == Some(e))
                    && (with_deleted || p["deleted"] != "1")
            })
            .map(|(_, p)| p)
            .skip(q.page.unwrap_or(0) * max)
            .take(max)
            .collect();
        json!({ "participants": page, "server_time": time_of_tick(d.clock) }).to_string()
    });
    s.shared.answer(body).await
}

async fn events(State(s): State<WeezeventStandIn>, Query(q): Query<ListQuery>) -> Response {
    if !s.authorised(q.api_key.as_deref(), q.access_token.as_deref()) {
        return (StatusCode::UNAUTHORIZED, "invalid access token").into_response();
    }
    Json(json!({ "events": s.shared.with(|d| d.events.clone()) })).into_response()
}
