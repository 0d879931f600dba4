//! Shotgun (shotgun.live): tickets from the documented Tickets API, events from the
//! Smartboard API, scans pushed to the address Shotgun gives (partners.md). Shotgun's states
//! and fields are read here and nowhere else.

use app::ssr::storage::{ImportedTicket, PendingPush};
use app::domain::{FieldValues, PartnerEvent, SourceKind};
use app::engine::{Barcode, TicketState};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;

use super::http::{self, Pacer};
use super::settings::{Fields, SettingsError};
use super::{Connector, ConnectorError, Progress, TicketPage};

/// Events listed a page at a time.
const EVENTS_PAGE: u64 = 100;

pub struct Shotgun {
    organizer_id: u64,
    token: String,
    key_events: bool,
    api_url: reqwest::Url,
    smartboard_url: reqwest::Url,
    push_url: Option<reqwest::Url>,
    pacer: Pacer,
    http: reqwest::Client,
}

impl Shotgun {
    pub fn new(values: &FieldValues, http: reqwest::Client) -> Result<Self, SettingsError> {
        let fields = Fields::check(values, SourceKind::Shotgun.fields())?;
        Ok(Self {
            organizer_id: fields.integer("organizer_id")?,
            token: fields.required("token")?,
            key_events: fields.flag("key_events")?,
            api_url: fields.url("api_url")?,
            smartboard_url: fields.url("smartboard_url")?,
            push_url: fields.url_opt("push_url")?,
            pacer: Pacer::per_minute(fields.integer("requests_per_minute")?),
            http,
        })
    }

    fn event_id(options: &FieldValues) -> Result<u64, SettingsError> {
        Fields::check(options, SourceKind::Shotgun.attachment_fields())?.integer("event_id")
    }
}

#[derive(Deserialize)]
struct TicketsResponse {
    #[serde(default)]
    pagination: Pagination,
    data: Vec<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Deserialize, Default)]
struct Pagination {
    next: Option<String>,
}

/// The fields of a ticket Billetix decides on; every field is kept for reports.
#[derive(Deserialize)]
struct ShotgunTicket {
    ticket_id: i64,
    ticket_scan_code: String,
    ticket_scanned_at: Option<String>,
    ticket_updated_at: Option<String>,
    ticket_status: String,
    deal_title: Option<String>,
    contact_first_name: Option<String>,
    contact_last_name: Option<String>,
}

/// Shotgun's states (SPEC §5): only valid ones enter; resold numbers were replaced by a new
/// ticket; pending approval, rejected and unpaid plans are unknown and never counted.
pub fn state_of(status: &str) -> TicketState {
    match status {
        "valid" => TicketState::Valid,
        "resold" => TicketState::Duplicated,
        "refunded" | "canceled" => TicketState::Cancelled,
        _ => TicketState::Unknown,
    }
}

fn time_of(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .ok()
        .or_else(|| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok().map(|t| t.and_utc().timestamp_millis()))
}

fn ticket_from(raw: serde_json::Map<String, serde_json::Value>) -> Result<(ImportedTicket, String), ConnectorError> {
    let fields = serde_json::Value::Object(raw);
    let ticket: ShotgunTicket =
        serde_json::from_value(fields.clone()).map_err(|e| ConnectorError::Malformed(format!("ticket: {e}")))?;
    let barcode = Barcode::parse(&ticket.ticket_scan_code)
        .map_err(|e| ConnectorError::Malformed(format!("ticket {}: scan code: {e}", ticket.ticket_id)))?;
    let holder = [ticket.contact_first_name.as_deref(), ticket.contact_last_name.as_deref()]
        .into_iter()
        .flatten()
        .filter(|s| !s.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    // The tie-break cursor Shotgun documents: `<updated at>_<ticket id>`.
    let cursor = format!("{}_{}", ticket.ticket_updated_at.as_deref().unwrap_or_default(), ticket.ticket_id);
    Ok((
        ImportedTicket {
            barcode,
            state: state_of(&ticket.ticket_status),
            category: ticket.deal_title.unwrap_or_default(),
            holder: (!holder.is_empty()).then_some(holder),
            fields: fields.to_string(),
            partner_scanned_at: ticket.ticket_scanned_at.as_deref().and_then(time_of),
        },
        cursor,
    ))
}

/// The `after` value of Shotgun's next-page address (the address itself carries the token
/// and is never stored or logged).
fn after_of(next: &str) -> Option<String> {
    reqwest::Url::parse(next).ok()?.query_pairs().find(|(k, _)| k == "after").map(|(_, v)| v.into_owned())
}

#[derive(Deserialize)]
#[serde(untagged)]
enum EventsResponse {
    Bare(Vec<ShotgunEvent>),
    Wrapped { data: Vec<ShotgunEvent> },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShotgunEvent {
    id: serde_json::Value,
    name: String,
    start_time: Option<String>,
    timezone: Option<String>,
    cancelled_at: Option<String>,
    /// Not documented: a venue name or object when Shotgun gives one.
    venue: Option<serde_json::Value>,
}

impl ShotgunEvent {
    fn into_partner_event(self) -> PartnerEvent {
        let id = match self.id {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        let venue = match self.venue {
            Some(serde_json::Value::String(name)) => Some(name),
            Some(serde_json::Value::Object(o)) => o.get("name").and_then(|n| n.as_str()).map(str::to_owned),
            _ => None,
        };
        PartnerEvent {
            id,
            venue: venue.unwrap_or_else(|| self.name.clone()),
            name: self.name,
            starts_at: self.start_time.as_deref().and_then(time_of),
            time_zone: self.timezone,
        }
    }
}

#[async_trait]
impl Connector for Shotgun {
    fn check_options(&self, options: &FieldValues) -> Result<(), SettingsError> {
        Fields::check(options, SourceKind::Shotgun.attachment_fields()).map(|_| ())
    }

    async fn fetch_tickets(&self, options: &FieldValues, cursor: Option<&str>) -> Result<TicketPage, ConnectorError> {
        let event_id = Self::event_id(options)?;
        let mut query = vec![("organizer_id", self.organizer_id.to_string()), ("event_id", event_id.to_string())];
        if let Some(after) = cursor {
            query.push(("after", after.to_owned()));
        }
        self.pacer.wait().await;
        let request = self.http.get(http::endpoint(&self.api_url, "tickets")).bearer_auth(&self.token).query(&query);
        let response: TicketsResponse = http::json(request).await?;
        let mut page = TicketPage::default();
        let mut last = None;
        for raw in response.data {
            let (ticket, cursor) = ticket_from(raw)?;
            page.tickets.push(ticket);
            last = Some(cursor);
        }
        let next = response.pagination.next.as_deref().and_then(after_of);
        page.more = next.is_some() && !page.tickets.is_empty();
        page.cursor = next.or(last);
        Ok(page)
    }

    async fn list_events(&self, progress: Progress<'_>) -> Result<Vec<PartnerEvent>, ConnectorError> {
        let url = http::endpoint(&self.smartboard_url, &format!("organizers/{}/events", self.organizer_id));
        // Key Events: the future events; otherwise every event, past ones too.
        let periods: &[bool] = if self.key_events { &[false] } else { &[false, true] };
        let mut events = Vec::new();
        for &past in periods {
            for page in 0.. {
                let mut query = vec![("key", self.token.clone()), ("page", page.to_string()), ("limit", EVENTS_PAGE.to_string())];
                // Any value of past_events means true: the parameter is left out otherwise.
                if past {
                    query.push(("past_events", "true".to_owned()));
                }
                self.pacer.wait().await;
                let batch = match http::json::<EventsResponse>(self.http.get(url.clone()).query(&query)).await? {
                    EventsResponse::Bare(list) | EventsResponse::Wrapped { data: list } => list,
                };
                let full = batch.len() as u64 >= EVENTS_PAGE;
                events.extend(batch.into_iter().filter(|e| e.cancelled_at.is_none()).map(ShotgunEvent::into_partner_event));
                progress(events.len() as u64);
                if !full {
                    break;
                }
            }
        }
        Ok(events)
    }

    fn pushes_scans(&self, options: &FieldValues) -> bool {
        let do_not_push = Fields::check(options, SourceKind::Shotgun.attachment_fields()).and_then(|f| f.flag("do_not_push"));
        self.push_url.is_some() && do_not_push == Ok(false)
    }

    async fn push_scan(&self, options: &FieldValues, scan: &PendingPush) -> Result<(), ConnectorError> {
        let Some(url) = &self.push_url else { return Err(ConnectorError::Unsupported) };
        let scanned_at = DateTime::<Utc>::from_timestamp_millis(scan.scanned_at).map(|t| t.to_rfc3339()).unwrap_or_default();
        let body = serde_json::json!({
            "organizer_id": self.organizer_id,
            "event_id": Self::event_id(options)?,
            "ticket_scan_code": scan.barcode,
            "scanned_at": scanned_at,
            "device": scan.device,
        });
        self.pacer.wait().await;
        http::send(self.http.post(url.clone()).bearer_auth(&self.token).json(&body)).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_map_as_the_spec_says() {
        assert_eq!(state_of("valid"), TicketState::Valid);
        assert_eq!(state_of("resold"), TicketState::Duplicated);
        assert_eq!(state_of("refunded"), TicketState::Cancelled);
        assert_eq!(state_of("canceled"), TicketState::Cancelled);
        for unknown in ["pending_organizer_approval", "rejected", "payment_plan_pending", "something_new"] {
            assert_eq!(state_of(unknown), TicketState::Unknown, "{unknown}");
        }
    }

    #[test]
    fn a_ticket_keeps_every_field_and_arrives_scanned_when_shotgun_scanned_it() {
        let raw = serde_json::json!({
            "ticket_id": 7, "ticket_scan_code": "AB12", "ticket_scanned_at": "2026-05-01T20:00:00Z",
            "ticket_updated_at": "2026-05-01T20:00:01Z", "ticket_status": "valid", "deal_title": "VIP",
            "contact_first_name": "Ada", "contact_last_name": "Lovelace", "deal_price": 4200
        });
        let serde_json::Value::Object(map) = raw else { unreachable!() };
        let (ticket, cursor) = ticket_from(map).expect("maps");
        assert_eq!(ticket.barcode.as_str(), "AB12");
        assert_eq!(ticket.category, "VIP");
        assert_eq!(ticket.holder.as_deref(), Some("Ada Lovelace"));
        assert!(ticket.fields.contains("deal_price"));
        assert_eq!(ticket.partner_scanned_at, Some(1_777_665_600_000));
        assert_eq!(cursor, "2026-05-01T20:00:01Z_7");
    }

    #[test]
    fn the_cursor_is_read_from_the_next_address_without_keeping_the_token() {
        let next = "https://api.shotgun.live/tickets?organizer_id=1&token=SECRET&after=2026-01-01T00%3A00%3A00Z_42";
        assert_eq!(after_of(next).as_deref(), Some("2026-01-01T00:00:00Z_42"));
    }
}
