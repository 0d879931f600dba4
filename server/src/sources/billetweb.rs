//! Billetweb: attendees from `GET /api/event/{id}/attendees` (changed since `last_update`,
//! unix seconds, no pagination) and events from `GET /api/events`, with `user`, `key` and
//! `version=1` (partners.md). Billetweb's fields and states are read here and nowhere else.

use app::ssr::now_millis;
use app::ssr::storage::ImportedTicket;
use app::domain::{FieldValues, PartnerEvent, SourceKind};
use app::engine::TicketState;
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::http::{self, Pacer};
use super::settings::{Fields, SettingsError};
use super::values::{self, field};
use super::{Connector, ConnectorError, Progress, TicketPage};

pub struct Billetweb {
    user: String,
    key: String,
    api_url: reqwest::Url,
    pacer: Pacer,
    http: reqwest::Client,
}

/// Billetweb's states: a disabled (refunded) or unpaid attendee no longer enters; `used` means
/// Billetweb's own app scanned the ticket. Returns (state, scanned).
pub fn state_of(disabled: &Value, order_paid: &Value, used: &Value) -> (TicketState, bool) {
    let unpaid = values::text(order_paid).as_deref() == Some("0");
    let state = if values::truthy(disabled) || unpaid { TicketState::Cancelled } else { TicketState::Valid };
    (state, values::truthy(used))
}

/// `last_update` as unix seconds, whether Billetweb sends a number or a date.
fn seconds_of(value: &Value) -> Option<i64> {
    let text = values::text(value)?;
    text.parse::<i64>().ok().or_else(|| values::french_time_of(&text).map(|ms| ms / 1000))
}

fn ticket_from(attendee: &Value) -> Result<ImportedTicket, ConnectorError> {
    let id = values::text(field(attendee, "id")).unwrap_or_default();
    let (state, scanned) = state_of(field(attendee, "disabled"), field(attendee, "order_paid"), field(attendee, "used"));
    let scanned_at = scanned.then(|| values::text(field(attendee, "used_date")).and_then(|d| values::french_time_of(&d)).unwrap_or_else(now_millis));
    let holder = values::holder(&[values::text(field(attendee, "firstname")), values::text(field(attendee, "name"))]);
    let category = values::text(field(attendee, "ticket")).or_else(|| values::text(field(attendee, "category")));
    values::ticket(&id, field(attendee, "barcode"), state, category, holder, attendee, scanned_at)
}

impl Billetweb {
    pub fn new(values: &FieldValues, http: reqwest::Client) -> Result<Self, SettingsError> {
        let fields = Fields::check(values, SourceKind::Billetweb.fields())?;
        Ok(Self {
            user: fields.required("user")?,
            key: fields.required("key")?,
            api_url: fields.url("api_url")?,
            pacer: Pacer::per_minute(fields.integer("requests_per_minute")?),
            http,
        })
    }

    fn event_id(options: &FieldValues) -> Result<String, SettingsError> {
        Fields::check(options, SourceKind::Billetweb.attachment_fields())?.required("event_id")
    }

    async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<T, ConnectorError> {
        self.pacer.wait().await;
        // The key travels in the query: the address is never logged (see `http`).
        let request = self
            .http
            .get(http::endpoint(&self.api_url, path))
            .query(&[("user", self.user.as_str()), ("key", self.key.as_str()), ("version", "1")])
            .query(query);
        http::json(request).await
    }
}

#[async_trait]
impl Connector for Billetweb {
    fn check_options(&self, options: &FieldValues) -> Result<(), SettingsError> {
        Self::event_id(options).map(|_| ())
    }

    async fn fetch_tickets(&self, options: &FieldValues, cursor: Option<&str>) -> Result<TicketPage, ConnectorError> {
        let event_id = Self::event_id(options)?;
        let query: Vec<(&str, String)> = cursor.map(|since| ("last_update", since.to_owned())).into_iter().collect();
        let attendees: Vec<Value> = self.get(&format!("api/event/{event_id}/attendees"), &query).await?;
        let tickets = attendees.iter().map(ticket_from).collect::<Result<Vec<_>, _>>()?;
        // From the latest change seen, one second back: whether Billetweb's filter includes
        // its bound is not documented, and an unchanged ticket read twice changes nothing.
        let latest = attendees.iter().filter_map(|a| seconds_of(field(a, "last_update"))).max();
        Ok(TicketPage { tickets, cursor: latest.map(|s| (s - 1).max(0).to_string()), more: false })
    }

    async fn list_events(&self, progress: Progress<'_>) -> Result<Vec<PartnerEvent>, ConnectorError> {
        let list: Vec<Value> = self.get("api/events", &[]).await?;
        let events: Vec<PartnerEvent> = list
            .iter()
            .filter_map(|e| {
                let name = values::text(field(e, "name"))?;
                let venue = values::text(field(e, "place")).unwrap_or_else(|| name.clone());
                Some(PartnerEvent {
                    id: values::text(field(e, "id"))?,
                    venue,
                    starts_at: values::text(field(e, "start")).and_then(|d| values::french_time_of(&d)),
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
            ((json!("0"), json!("1"), json!(0)), (TicketState::Valid, false)),
            ((json!("1"), json!("1"), json!(0)), (TicketState::Cancelled, false)),
            ((json!("0"), json!("0"), json!(0)), (TicketState::Cancelled, false)),
            ((json!("0"), json!(0), json!("0")), (TicketState::Cancelled, false)),
            ((json!("0"), json!("1"), json!(1)), (TicketState::Valid, true)),
            ((json!("1"), json!("1"), json!("1")), (TicketState::Cancelled, true)),
            ((Value::Null, Value::Null, Value::Null), (TicketState::Valid, false)),
        ];
        for ((disabled, paid, used), expected) in table {
            assert_eq!(state_of(&disabled, &paid, &used), expected, "{disabled} {paid} {used}");
        }
    }

    #[test]
    fn an_attendee_maps_with_its_scan_and_its_update_time() {
        let raw = json!({"id": "8", "barcode": "BW8", "used": 1, "used_date": "2026-05-01 22:00:00", "firstname": "Ada",
                         "name": "Lovelace", "ticket": "Plein tarif", "disabled": "0", "order_paid": "1", "last_update": "1700000000"});
        let ticket = ticket_from(&raw).expect("maps");
        assert_eq!((ticket.barcode.as_str(), ticket.category.as_str()), ("BW8", "Plein tarif"));
        assert_eq!(ticket.holder.as_deref(), Some("Ada Lovelace"));
        assert_eq!(ticket.partner_scanned_at, Some(1_777_665_600_000));
        assert_eq!(seconds_of(field(&raw, "last_update")), Some(1_700_000_000));
        assert_eq!(seconds_of(&json!("2026-05-01 22:00:00")), Some(1_777_665_600));
    }
}
