//! TIXNGO wallet: ticket statuses from its diff feed (batches of up to 1000, resumed from the
//! feed's cursor), controlled tickets pushed so the wallet hides their QR code, and tickets
//! another source (SecuTix 360, the issuer) cancelled pushed so the wallet removes them
//! (partners.md, SPEC §5). The paths are not public: they are settings (`diff_path`,
//! `control_path`, `invalidate_path`). Assumed shapes, to adjust with TIXNGO: `GET
//! <diff_path>?eventId=&cursor=&size=` answers `{"tickets":[{ticketId, barcode, status,
//! category, statusDate, spectator{firstName, lastName}}], "nextCursor", "hasMore"}`; `POST
//! <control_path>` takes `{eventId, barcode, controlDate, device}`; `POST <invalidate_path>`
//! takes `{eventId, barcode}`. Authentication is a Bearer API key.

use app::ssr::now_millis;
use app::ssr::storage::{ImportedTicket, PendingCancellation, PendingPush};
use app::domain::{FieldValues, SourceKind};
use app::engine::TicketState;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::{self, Pacer};
use super::settings::{Fields, SettingsError};
use super::values::{self, field};
use super::{Connector, ConnectorError, TicketPage};

pub struct Tixngo {
    api_url: reqwest::Url,
    api_key: String,
    diff_path: String,
    control_path: String,
    invalidate_path: String,
    page_size: u64,
    pacer: Pacer,
    http: reqwest::Client,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DiffPage {
    #[serde(default)]
    tickets: Vec<Value>,
    next_cursor: Option<Value>,
    #[serde(default)]
    has_more: bool,
}

/// TIXNGO's statuses: a ticket being or having been deleted (invalidated, resold) no longer
/// enters; a controlled one was scanned; every other status (injected, downloaded, assigned,
/// transferred, activated…) is a valid ticket. Returns (state, scanned).
pub fn state_of(status: &str) -> (TicketState, bool) {
    match status {
        "DELETED" | "DELETION_PENDING" => (TicketState::Cancelled, false),
        "CONTROLLED" => (TicketState::Valid, true),
        _ => (TicketState::Valid, false),
    }
}

fn ticket_from(ticket: &Value) -> Result<ImportedTicket, ConnectorError> {
    let id = values::text(field(ticket, "ticketId")).unwrap_or_default();
    let status = values::text(field(ticket, "status")).unwrap_or_default();
    let (state, scanned) = state_of(&status);
    let scanned_at = scanned.then(|| values::text(field(ticket, "statusDate")).and_then(|d| values::time_of(&d)).unwrap_or_else(now_millis));
    let spectator = field(ticket, "spectator");
    let holder = values::holder(&[values::text(field(spectator, "firstName")), values::text(field(spectator, "lastName"))]);
    values::ticket(&id, field(ticket, "barcode"), state, values::text(field(ticket, "category")), holder, ticket, scanned_at)
}

impl Tixngo {
    pub fn new(values: &FieldValues, http: reqwest::Client) -> Result<Self, SettingsError> {
        let fields = Fields::check(values, SourceKind::Tixngo.fields())?;
        Ok(Self {
            api_url: fields.url("api_url")?,
            api_key: fields.required("api_key")?,
            diff_path: fields.required("diff_path")?,
            control_path: fields.required("control_path")?,
            invalidate_path: fields.required("invalidate_path")?,
            page_size: fields.integer("page_size")?.max(1),
            pacer: Pacer::per_minute(fields.integer("requests_per_minute")?),
            http,
        })
    }

    fn options(options: &FieldValues) -> Result<Fields<'_>, SettingsError> {
        Fields::check(options, SourceKind::Tixngo.attachment_fields())
    }
}

#[async_trait]
impl Connector for Tixngo {
    fn check_options(&self, options: &FieldValues) -> Result<(), SettingsError> {
        Self::options(options).map(|_| ())
    }

    async fn fetch_tickets(&self, options: &FieldValues, cursor: Option<&str>) -> Result<TicketPage, ConnectorError> {
        let event_id = Self::options(options)?.required("event_id")?;
        let mut query = vec![("eventId", event_id), ("size", self.page_size.to_string())];
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor.to_owned()));
        }
        self.pacer.wait().await;
        let request = self.http.get(http::endpoint(&self.api_url, &self.diff_path)).bearer_auth(&self.api_key).query(&query);
        let page: DiffPage = http::json(request).await?;
        let tickets = page.tickets.iter().map(ticket_from).collect::<Result<Vec<_>, _>>()?;
        let cursor = page.next_cursor.as_ref().and_then(values::text);
        Ok(TicketPage { more: page.has_more && cursor.is_some(), tickets, cursor })
    }

    fn pushes_scans(&self, options: &FieldValues) -> bool {
        Self::options(options).and_then(|f| f.flag("do_not_push")) == Ok(false)
    }

    async fn push_scan(&self, options: &FieldValues, scan: &PendingPush) -> Result<(), ConnectorError> {
        let control_date = DateTime::<Utc>::from_timestamp_millis(scan.scanned_at).map(|t| t.to_rfc3339()).unwrap_or_default();
        let body = json!({
            "eventId": Self::options(options)?.required("event_id")?,
            "barcode": scan.barcode,
            "controlDate": control_date,
            "device": scan.device,
        });
        self.pacer.wait().await;
        let request = self.http.post(http::endpoint(&self.api_url, &self.control_path)).bearer_auth(&self.api_key).json(&body);
        http::send(request).await.map(|_| ())
    }

    // Whatever the "do not push" option: that one is about scans, and a cancelled ticket
    // left in the wallet would still show a QR code.
    fn pushes_cancellations(&self, _options: &FieldValues) -> bool {
        true
    }

    async fn push_cancellation(&self, options: &FieldValues, ticket: &PendingCancellation) -> Result<(), ConnectorError> {
        let body = json!({"eventId": Self::options(options)?.required("event_id")?, "barcode": ticket.barcode});
        self.pacer.wait().await;
        let request = self.http.post(http::endpoint(&self.api_url, &self.invalidate_path)).bearer_auth(&self.api_key).json(&body);
        http::send(request).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_as_partners_md_says() {
        let table = [
            ("INJECTED", (TicketState::Valid, false)),
            ("DOWNLOADED", (TicketState::Valid, false)),
            ("RECEIVED", (TicketState::Valid, false)),
            ("ASSIGNED", (TicketState::Valid, false)),
            ("PENDING_TRANSFER", (TicketState::Valid, false)),
            ("TRANSFERRED", (TicketState::Valid, false)),
            ("TRANSFERRED_ACTIVATED", (TicketState::Valid, false)),
            ("CONTROLLED", (TicketState::Valid, true)),
            ("DELETION_PENDING", (TicketState::Cancelled, false)),
            ("DELETED", (TicketState::Cancelled, false)),
        ];
        for (status, expected) in table {
            assert_eq!(state_of(status), expected, "{status}");
        }
    }

    #[test]
    fn a_controlled_ticket_arrives_scanned() {
        let raw = json!({"ticketId": "T-1", "barcode": "TX1", "status": "CONTROLLED", "statusDate": "2026-05-01T20:00:00Z",
                         "category": "Cat 1", "spectator": {"firstName": "Ada", "lastName": "Lovelace"}});
        let ticket = ticket_from(&raw).expect("maps");
        assert_eq!((ticket.barcode.as_str(), ticket.category.as_str(), ticket.state), ("TX1", "Cat 1", TicketState::Valid));
        assert_eq!(ticket.partner_scanned_at, Some(1_777_665_600_000));
        assert_eq!(ticket.holder.as_deref(), Some("Ada Lovelace"));
    }
}
