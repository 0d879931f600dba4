//! Weezevent: an access token from `POST /auth/access_token`, then participants from
//! `GET /participant/list` (changed since `last_update`, deleted ones included, a page at a
//! time) and events from `GET /events` (partners.md). Weezevent's fields and states are read
//! here and nowhere else.

use app::ssr::now_millis;
use app::domain::{FieldValues, PartnerEvent, SourceKind};
use app::engine::TicketState;
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::http::{self, Pacer};
use super::settings::{Fields, SettingsError};
use super::values::{self, field};
use super::{Connector, ConnectorError, Progress, TicketPage};

pub struct Weezevent {
    username: String,
    password: String,
    api_key: String,
    api_url: reqwest::Url,
    page_size: u64,
    first_page: u64,
    pacer: Pacer,
    http: reqwest::Client,
    /// Asked once per connector, asked again when Weezevent refuses it (it expires).
    access_token: tokio::sync::Mutex<Option<String>>,
}

/// Where a refresh stands: `since` is the `last_update` asked for, `page` the next page
/// (counted from 0 whatever Weezevent numbers the first), and `until` the `server_time` of
/// the refresh's first page, the next refresh's `since`.
#[derive(Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Cursor {
    since: Option<String>,
    #[serde(default)]
    page: u64,
    until: Option<String>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(rename = "accessToken")]
    access_token: String,
}

#[derive(Deserialize)]
struct ParticipantList {
    #[serde(default)]
    participants: Vec<Value>,
    server_time: Option<String>,
}

#[derive(Deserialize)]
struct EventList {
    #[serde(default)]
    events: Vec<Value>,
}

/// Weezevent's states: deleted or refunded participants no longer enter; a control status
/// other than "0" means Weezevent's own app scanned the ticket. Returns (state, scanned).
pub fn state_of(deleted: &Value, refund: &Value, control_status: &Value) -> (TicketState, bool) {
    let state = if values::truthy(deleted) || values::truthy(refund) { TicketState::Cancelled } else { TicketState::Valid };
    let scanned = values::text(control_status).is_some_and(|s| s != "0");
    (state, scanned)
}

fn ticket_from(participant: &Value) -> Result<app::ssr::storage::ImportedTicket, ConnectorError> {
    let id = values::text(field(participant, "id_participant")).unwrap_or_default();
    let control = field(participant, "control_status");
    let (state, scanned) = state_of(field(participant, "deleted"), field(participant, "refund"), field(control, "status"));
    // No scan date: scanned all the same, as of now.
    let scanned_at = scanned.then(|| values::text(field(control, "scan_date")).and_then(|d| values::french_time_of(&d)).unwrap_or_else(now_millis));
    let owner = field(participant, "owner");
    let holder = values::holder(&[values::text(field(owner, "first_name")), values::text(field(owner, "last_name"))]);
    let category = values::text(field(participant, "id_ticket"));
    values::ticket(&id, field(participant, "barcode"), state, category, holder, participant, scanned_at)
}

impl Weezevent {
    pub fn new(values: &FieldValues, http: reqwest::Client) -> Result<Self, SettingsError> {
        let fields = Fields::check(values, SourceKind::Weezevent.fields())?;
        Ok(Self {
            username: fields.required("username")?,
            password: fields.required("password")?,
            api_key: fields.required("api_key")?,
            api_url: fields.url("api_url")?,
            page_size: fields.integer("page_size")?.max(1),
            first_page: fields.integer("first_page")?,
            pacer: Pacer::per_minute(fields.integer("requests_per_minute")?),
            http,
            access_token: tokio::sync::Mutex::new(None),
        })
    }

    fn event_id(options: &FieldValues) -> Result<String, SettingsError> {
        Fields::check(options, SourceKind::Weezevent.attachment_fields())?.required("event_id")
    }

    async fn token(&self) -> Result<String, ConnectorError> {
        let mut cached = self.access_token.lock().await;
        if let Some(token) = cached.as_ref() {
            return Ok(token.clone());
        }
        let form = [("username", &self.username), ("password", &self.password), ("api_key", &self.api_key)];
        self.pacer.wait().await;
        let answer: TokenAnswer = http::json(self.http.post(http::endpoint(&self.api_url, "auth/access_token")).form(&form)).await?;
        *cached = Some(answer.access_token.clone());
        Ok(answer.access_token)
    }

    async fn try_get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<T, ConnectorError> {
        let token = self.token().await?;
        self.pacer.wait().await;
        // The key and token travel in the query: the address is never logged (see `http`).
        let request = self
            .http
            .get(http::endpoint(&self.api_url, path))
            .query(&[("api_key", self.api_key.as_str()), ("access_token", token.as_str())])
            .query(query);
        http::json(request).await
    }

    /// A GET with the key and token; a refused token is asked for again once.
    async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<T, ConnectorError> {
        let first = self.try_get(path, query).await;
        if matches!(first, Err(ConnectorError::Unauthorized(_))) {
            *self.access_token.lock().await = None;
            return self.try_get(path, query).await;
        }
        first
    }
}

#[async_trait]
impl Connector for Weezevent {
    fn check_options(&self, options: &FieldValues) -> Result<(), SettingsError> {
        Self::event_id(options).map(|_| ())
    }

    async fn fetch_tickets(&self, options: &FieldValues, cursor: Option<&str>) -> Result<TicketPage, ConnectorError> {
        let event_id = Self::event_id(options)?;
        let at: Cursor = values::cursor_from(cursor);
        let mut query = vec![
            ("id_event[]", event_id),
            ("include_deleted", "true".to_owned()),
            ("full", "1".to_owned()),
            ("max", self.page_size.to_string()),
            ("page", (self.first_page + at.page).to_string()),
        ];
        if let Some(since) = &at.since {
            query.push(("last_update", since.clone()));
        }
        let list: ParticipantList = self.get("participant/list", &query).await?;
        let tickets = list.participants.iter().map(ticket_from).collect::<Result<Vec<_>, _>>()?;
        let until = at.until.clone().or(list.server_time);
        let more = tickets.len() as u64 >= self.page_size;
        let next = if more {
            Cursor { since: at.since, page: at.page + 1, until }
        } else {
            Cursor { since: until.or(at.since), page: 0, until: None }
        };
        Ok(TicketPage { tickets, cursor: Some(values::cursor_text(&next)), more })
    }

    async fn list_events(&self, progress: Progress<'_>) -> Result<Vec<PartnerEvent>, ConnectorError> {
        let list: EventList = self.get("events", &[]).await?;
        let events: Vec<PartnerEvent> = list
            .events
            .iter()
            .filter_map(|e| {
                let name = values::text(field(e, "name"))?;
                // The venue is not documented: its name when given, else the event's.
                let venue = values::text(field(field(e, "venue"), "name")).unwrap_or_else(|| name.clone());
                Some(PartnerEvent {
                    id: values::text(field(e, "id"))?,
                    venue,
                    starts_at: values::text(field(field(e, "date"), "start")).and_then(|d| values::french_time_of(&d)),
                    name,
                    time_zone: Some("Europe/Paris".to_owned()),
                })
            })
            .collect();
        progress(events.len() as u64);
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn states_map_as_partners_md_says() {
        let table = [
            ((json!("0"), json!("0"), json!("0")), (TicketState::Valid, false)),
            ((json!("1"), json!("0"), json!("0")), (TicketState::Cancelled, false)),
            ((json!("0"), json!("1"), json!("0")), (TicketState::Cancelled, false)),
            ((json!("0"), json!(true), json!("0")), (TicketState::Cancelled, false)),
            ((json!("0"), json!("0"), json!("1")), (TicketState::Valid, true)),
            ((json!(0), Value::Null, json!(2)), (TicketState::Valid, true)),
            ((json!("1"), json!("0"), json!("1")), (TicketState::Cancelled, true)),
            ((Value::Null, Value::Null, Value::Null), (TicketState::Valid, false)),
        ];
        for ((deleted, refund, control), expected) in table {
            assert_eq!(state_of(&deleted, &refund, &control), expected, "{deleted} {refund} {control}");
        }
    }

    #[test]
    fn a_participant_keeps_its_fields_and_its_scan() {
        let raw = json!({"id_participant": 5, "id_event": 9, "id_ticket": "T1", "barcode": "WZ5", "deleted": "0", "refund": 0,
                         "control_status": {"status": "1", "scan_date": "2026-05-01 22:00:00"},
                         "owner": {"first_name": "Ada", "last_name": "Lovelace"}});
        let ticket = ticket_from(&raw).expect("maps");
        assert_eq!((ticket.barcode.as_str(), ticket.category.as_str()), ("WZ5", "T1"));
        assert_eq!(ticket.holder.as_deref(), Some("Ada Lovelace"));
        assert_eq!(ticket.partner_scanned_at, Some(1_777_665_600_000));
        assert!(ticket.fields.contains("id_event"));
        assert!(ticket_from(&json!({"id_participant": 6})).is_err(), "no barcode");
    }

    #[test]
    fn cursors_round_trip_and_unknown_ones_start_over() {
        let cursor = Cursor { since: Some("2026-01-01 00:00:00".into()), page: 2, until: Some("2026-01-02 00:00:00".into()) };
        assert_eq!(values::cursor_from::<Cursor>(Some(&values::cursor_text(&cursor))), cursor);
        assert_eq!(values::cursor_from::<Cursor>(Some("garbage")), Cursor::default());
    }
}
