//! SecuTix 360 access-control web service (`ExternalAccessControlService` v1_6, REST):
//! `exportList` pulls the list of a performance incrementally (`paginationStart` = the
//! previous `paginationEnd`), `importControlledTicket` pushes each control with its result
//! (partners.md). Authentication is HTTP Basic with the web-service user and password. The
//! item fields beyond the barcode are not fully documented: their names are settings.

use app::ssr::storage::{ImportedTicket, PendingPush};
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

pub struct Secutix {
    service_url: reqwest::Url,
    user: String,
    password: String,
    ac_identifier: String,
    list_type: String,
    ticket_type: String,
    page_size: u64,
    barcode_field: String,
    category_field: String,
    cancellation_field: String,
    pacer: Pacer,
    http: reqwest::Client,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportAnswer {
    status_code: Option<String>,
    #[serde(default)]
    access_control_list_items: Vec<Value>,
    pagination_end: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImportAnswer {
    status_code: Option<String>,
}

/// SecuTix's states: a black list holds only invalid tickets; otherwise an item with a
/// cancellation cause no longer enters and the others do.
pub fn state_of(list_type: &str, cancellation_cause: Option<&str>) -> TicketState {
    if list_type.eq_ignore_ascii_case("BLACK") || cancellation_cause.is_some_and(|c| !c.trim().is_empty()) {
        TicketState::Cancelled
    } else {
        TicketState::Valid
    }
}

/// What SecuTix is told of one control: the verdict, and whether the door was offline.
pub fn control_result(admitted: bool, offline: bool) -> &'static str {
    match (admitted, offline) {
        (true, false) => "OK",
        (false, false) => "FAIL",
        (true, true) => "OFFLINE_OK",
        (false, true) => "OFFLINE_FAIL",
    }
}

/// A missing status code is taken as success: only an explicit other code is a refusal.
fn check_status(code: Option<String>) -> Result<(), ConnectorError> {
    match code {
        Some(code) if !code.eq_ignore_ascii_case("success") && !code.eq_ignore_ascii_case("ok") => Err(ConnectorError::Refused(code)),
        _ => Ok(()),
    }
}

impl Secutix {
    pub fn new(values: &FieldValues, http: reqwest::Client) -> Result<Self, SettingsError> {
        let fields = Fields::check(values, SourceKind::Secutix.fields())?;
        let list_type = fields.required("list_type")?.to_ascii_uppercase();
        if !matches!(list_type.as_str(), "WHITE" | "BLACK" | "GREY") {
            return Err(SettingsError::new("list_type", format!("{list_type:?} is none of WHITE, BLACK, GREY")));
        }
        Ok(Self {
            service_url: fields.url("service_url")?,
            user: fields.required("user")?,
            password: fields.required("password")?,
            ac_identifier: fields.required("ac_identifier")?,
            list_type,
            ticket_type: fields.required("ticket_type")?,
            page_size: fields.integer("page_size")?.max(1),
            barcode_field: fields.required("barcode_field")?,
            category_field: fields.required("category_field")?,
            cancellation_field: fields.required("cancellation_field")?,
            pacer: Pacer::per_minute(fields.integer("requests_per_minute")?),
            http,
        })
    }

    fn options(options: &FieldValues) -> Result<Fields<'_>, SettingsError> {
        Fields::check(options, SourceKind::Secutix.attachment_fields())
    }

    fn ticket_from(&self, item: &Value) -> Result<ImportedTicket, ConnectorError> {
        let barcode = field(item, &self.barcode_field);
        let id = values::text(barcode).unwrap_or_default();
        let cancellation = values::text(field(item, &self.cancellation_field));
        let state = state_of(&self.list_type, cancellation.as_deref());
        values::ticket(&id, barcode, state, values::text(field(item, &self.category_field)), None, item, None)
    }

    async fn call<T: serde::de::DeserializeOwned>(&self, method: &str, body: &Value) -> Result<T, ConnectorError> {
        self.pacer.wait().await;
        let request = self.http.post(http::endpoint(&self.service_url, method)).basic_auth(&self.user, Some(&self.password)).json(body);
        http::json(request).await
    }
}

#[async_trait]
impl Connector for Secutix {
    fn check_options(&self, options: &FieldValues) -> Result<(), SettingsError> {
        Self::options(options).map(|_| ())
    }

    async fn fetch_tickets(&self, options: &FieldValues, cursor: Option<&str>) -> Result<TicketPage, ConnectorError> {
        let options = Self::options(options)?;
        let body = json!({
            "listType": self.list_type,
            "ticketType": self.ticket_type,
            "seasonCode": options.text("season_code"),
            "productCodes": options.text("product_code").into_iter().collect::<Vec<_>>(),
            "performanceCodes": [options.required("performance_code")?],
            "paginationStart": cursor,
            "nbMaxResults": self.page_size,
        });
        let answer: ExportAnswer = self.call("exportList", &body).await?;
        check_status(answer.status_code)?;
        let tickets = answer.access_control_list_items.iter().map(|item| self.ticket_from(item)).collect::<Result<Vec<_>, _>>()?;
        let end = answer.pagination_end.as_ref().and_then(values::text);
        let more = end.is_some() && tickets.len() as u64 >= self.page_size;
        Ok(TicketPage { tickets, cursor: end, more })
    }

    fn pushes_scans(&self, options: &FieldValues) -> bool {
        Self::options(options).and_then(|f| f.flag("do_not_push")) == Ok(false)
    }

    fn pushes_refusals(&self) -> bool {
        true
    }

    async fn push_scan(&self, _options: &FieldValues, scan: &PendingPush) -> Result<(), ConnectorError> {
        let control_date = DateTime::<Utc>::from_timestamp_millis(scan.scanned_at).map(|t| t.to_rfc3339()).unwrap_or_default();
        let body = json!({
            "acIdentifier": self.ac_identifier,
            "barcode": scan.barcode,
            "controlDate": control_date,
            "controlResult": control_result(scan.admitted, scan.offline),
            "failureReason": scan.refusal,
            // Spelt as SecuTix spells it.
            "additionnalInfo": scan.device,
        });
        let answer: ImportAnswer = self.call("importControlledTicket", &body).await?;
        check_status(answer.status_code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_map_from_the_list_type_and_the_cancellation_cause() {
        let table = [
            (("GREY", None), TicketState::Valid),
            (("GREY", Some("REFUND")), TicketState::Cancelled),
            (("GREY", Some("  ")), TicketState::Valid),
            (("WHITE", None), TicketState::Valid),
            (("BLACK", None), TicketState::Cancelled),
            (("black", None), TicketState::Cancelled),
        ];
        for ((list, cause), expected) in table {
            assert_eq!(state_of(list, cause), expected, "{list} {cause:?}");
        }
    }

    #[test]
    fn control_results_follow_the_verdict_and_the_connection() {
        assert_eq!(control_result(true, false), "OK");
        assert_eq!(control_result(false, false), "FAIL");
        assert_eq!(control_result(true, true), "OFFLINE_OK");
        assert_eq!(control_result(false, true), "OFFLINE_FAIL");
    }

    #[test]
    fn only_an_explicit_other_status_is_a_refusal() {
        assert!(check_status(None).is_ok());
        assert!(check_status(Some("SUCCESS".into())).is_ok());
        assert!(matches!(check_status(Some("INVALID_PARAMETER".into())), Err(ConnectorError::Refused(c)) if c == "INVALID_PARAMETER"));
    }
}
