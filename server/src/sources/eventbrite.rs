//! Eventbrite: attendees from `GET /v3/events/{id}/attendees/` with a Bearer token, changed
//! since `changed_since`, a page at a time through `pagination.continuation` (partners.md).
//! One attendee may carry several barcodes: each is a ticket. Eventbrite's fields and states
//! are read here and nowhere else.

use app::ssr::now_millis;
use app::ssr::storage::ImportedTicket;
use app::domain::{FieldValues, SourceKind};
use app::engine::TicketState;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::http::{self, Pacer};
use super::settings::{Fields, SettingsError};
use super::values::{self, field};
use super::{Connector, ConnectorError, TicketPage};

pub struct Eventbrite {
    token: String,
    api_url: reqwest::Url,
    pacer: Pacer,
    http: reqwest::Client,
}

/// Where a refresh stands: `since` is the `changed_since` asked for, `continuation` the next
/// page's token, `until` the latest `changed` seen so far (the next refresh's `since`).
#[derive(Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Cursor {
    since: Option<String>,
    continuation: Option<String>,
    until: Option<String>,
}

#[derive(Deserialize)]
struct AttendeePage {
    #[serde(default)]
    attendees: Vec<Value>,
    #[serde(default)]
    pagination: Pagination,
}

#[derive(Deserialize, Default)]
struct Pagination {
    continuation: Option<String>,
    #[serde(default)]
    has_more_items: bool,
}

/// Eventbrite's states: a cancelled or refunded attendee no longer enters; a barcode whose
/// status is `used` was scanned by Eventbrite's own app. Returns (state, scanned).
pub fn state_of(cancelled: &Value, refunded: &Value, barcode_status: &Value) -> (TicketState, bool) {
    let state = if values::truthy(cancelled) || values::truthy(refunded) { TicketState::Cancelled } else { TicketState::Valid };
    (state, values::text(barcode_status).as_deref() == Some("used"))
}

/// The attendee's tickets, one per barcode.
fn tickets_of(attendee: &Value) -> Result<Vec<ImportedTicket>, ConnectorError> {
    let id = values::text(field(attendee, "id")).unwrap_or_default();
    let profile = field(attendee, "profile");
    let holder = values::holder(&[values::text(field(profile, "first_name")), values::text(field(profile, "last_name"))]);
    let category = values::text(field(attendee, "ticket_class_name"));
    let barcodes = field(attendee, "barcodes").as_array().map(Vec::as_slice).unwrap_or_default();
    barcodes
        .iter()
        .map(|barcode| {
            let (state, scanned) = state_of(field(attendee, "cancelled"), field(attendee, "refunded"), field(barcode, "status"));
            let scanned_at = scanned.then(|| values::text(field(barcode, "changed")).and_then(|d| values::time_of(&d)).unwrap_or_else(now_millis));
            values::ticket(&id, field(barcode, "barcode"), state, category.clone(), holder.clone(), attendee, scanned_at)
        })
        .collect()
}

/// The later of two Eventbrite times (ISO, UTC); an unreadable one loses.
fn later(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if values::time_of(&b) > values::time_of(&a) { b } else { a }),
        (a, b) => a.or(b),
    }
}

impl Eventbrite {
    pub fn new(values: &FieldValues, http: reqwest::Client) -> Result<Self, SettingsError> {
        let fields = Fields::check(values, SourceKind::Eventbrite.fields())?;
        Ok(Self {
            token: fields.required("token")?,
            api_url: fields.url("api_url")?,
            pacer: Pacer::per_minute(fields.integer("requests_per_minute")?),
            http,
        })
    }

    fn event_id(options: &FieldValues) -> Result<String, SettingsError> {
        Fields::check(options, SourceKind::Eventbrite.attachment_fields())?.required("event_id")
    }
}

#[async_trait]
impl Connector for Eventbrite {
    fn check_options(&self, options: &FieldValues) -> Result<(), SettingsError> {
        Self::event_id(options).map(|_| ())
    }

    async fn fetch_tickets(&self, options: &FieldValues, cursor: Option<&str>) -> Result<TicketPage, ConnectorError> {
        let event_id = Self::event_id(options)?;
        let at: Cursor = values::cursor_from(cursor);
        let mut query = Vec::new();
        if let Some(since) = &at.since {
            query.push(("changed_since", since.clone()));
        }
        if let Some(continuation) = &at.continuation {
            query.push(("continuation", continuation.clone()));
        }
        self.pacer.wait().await;
        let url = http::endpoint(&self.api_url, &format!("events/{event_id}/attendees/"));
        let page: AttendeePage = http::json(self.http.get(url).bearer_auth(&self.token).query(&query)).await?;
        let mut tickets = Vec::new();
        let mut until = at.until;
        for attendee in &page.attendees {
            tickets.extend(tickets_of(attendee)?);
            until = later(until, values::text(field(attendee, "changed")));
        }
        let more = page.pagination.has_more_items && page.pagination.continuation.is_some();
        let next = if more {
            Cursor { since: at.since, continuation: page.pagination.continuation, until }
        } else {
            Cursor { since: until.or(at.since), continuation: None, until: None }
        };
        Ok(TicketPage { tickets, cursor: Some(values::cursor_text(&next)), more })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn states_map_as_partners_md_says() {
        let table = [
            ((json!(false), json!(false), json!("unused")), (TicketState::Valid, false)),
            ((json!(true), json!(false), json!("unused")), (TicketState::Cancelled, false)),
            ((json!(false), json!(true), json!("unused")), (TicketState::Cancelled, false)),
            ((json!(false), json!(false), json!("used")), (TicketState::Valid, true)),
            ((json!(true), json!(true), json!("used")), (TicketState::Cancelled, true)),
            ((Value::Null, Value::Null, Value::Null), (TicketState::Valid, false)),
        ];
        for ((cancelled, refunded, status), expected) in table {
            assert_eq!(state_of(&cancelled, &refunded, &status), expected, "{cancelled} {refunded} {status}");
        }
    }

    #[test]
    fn each_barcode_of_an_attendee_is_a_ticket() {
        let raw = json!({"id": "A1", "changed": "2026-05-01T19:00:00Z", "ticket_class_name": "GA", "cancelled": false,
                         "refunded": false, "profile": {"first_name": "Ada", "last_name": "Lovelace"},
                         "barcodes": [{"barcode": "EB1", "status": "unused"},
                                      {"barcode": "EB2", "status": "used", "changed": "2026-05-01T20:00:00Z"}]});
        let tickets = tickets_of(&raw).expect("maps");
        let codes: Vec<_> = tickets.iter().map(|t| (t.barcode.as_str(), t.partner_scanned_at)).collect();
        assert_eq!(codes, vec![("EB1", None), ("EB2", Some(1_777_665_600_000))]);
        assert!(tickets.iter().all(|t| t.category == "GA" && t.holder.as_deref() == Some("Ada Lovelace")));
    }

    #[test]
    fn the_later_time_wins() {
        let (a, b) = (Some("2026-05-01T19:00:00Z".to_owned()), Some("2026-05-01T20:00:00Z".to_owned()));
        assert_eq!(later(a.clone(), b.clone()), b);
        assert_eq!(later(b.clone(), a), b);
        assert_eq!(later(None, b.clone()), b);
    }
}
