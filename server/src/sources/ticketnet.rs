//! Ticketnet / Ticketmaster France sales files (seeds 001, 003). No public protocol exists:
//! sales arrive as a CSV (`;`) with one row per ticket sold and Ticketnet's correspondence
//! codes (integers under 10 digits), whatever the transport (file drop, HTTP). Header:
//!
//! `BARCODE;EVENT;SESSION;HALL;ZONE;FLOOR;CATEGORY;TARIFF;PRICE;SEAT;LAST_NAME;FIRST_NAME`
//!
//! The source holds the correspondence tables (halls, zones, categories, tariffs with their
//! price grid); each performance names its Ticketnet event (`EVENT` or `EVENT_SESSION`, at
//! most 10 characters after `_`). Rows are checked as the allotment interface does, with its
//! error codes (seed 003, annex B); a price that differs from the grid stops the integration
//! with an error naming the ticket and both prices.

use std::collections::HashMap;

use app::ssr::storage::ImportedTicket;
use app::domain::SourceKind;
use app::engine::{Barcode, TicketState};

use super::file::{FileError, Row, RowRefusal, TicketFormat, fields_json};
use super::settings::{Fields, SettingsError};

/// Direct-entry barcodes: 14 characters starting with `02` (Code 128).
const BARCODE_LENGTH: usize = 14;
const BARCODE_PREFIX: &str = "02";
const MAX_SESSION_LENGTH: usize = 10;

/// A Ticketnet correspondence code: an integer under 10 digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Code(u32);

impl Code {
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        (!text.is_empty() && text.len() < 10 && text.bytes().all(|b| b.is_ascii_digit())).then(|| text.parse().ok().map(Code)).flatten()
    }
}

/// A performance's Ticketnet event: `EVENT` or, for a competition, `EVENT_SESSION`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventCode {
    pub event: Code,
    pub session: Option<String>,
}

impl EventCode {
    pub fn parse(field: &str, text: &str) -> Result<Self, SettingsError> {
        let (event, session) = match text.trim().split_once('_') {
            Some((event, session)) => (event, Some(session)),
            None => (text.trim(), None),
        };
        let event = Code::parse(event).ok_or_else(|| SettingsError::new(field, format!("{text:?}: the event code is an integer under 10 digits")))?;
        if let Some(session) = session {
            if session.is_empty() || session.chars().count() > MAX_SESSION_LENGTH {
                return Err(SettingsError::new(field, format!("{text:?}: the session code after _ has 1 to {MAX_SESSION_LENGTH} characters")));
            }
        }
        Ok(Self { event, session: session.map(str::to_owned) })
    }
}

/// `code=name` pairs, one per line or separated by `;` (prices may use a decimal comma).
fn table(fields: &Fields<'_>, name: &str) -> Result<HashMap<Code, String>, SettingsError> {
    let Some(text) = fields.text(name) else { return Ok(HashMap::new()) };
    text.split([';', '\n'])
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let (code, value) = entry.split_once('=').ok_or_else(|| SettingsError::new(name, format!("{entry:?}: expected code=name")))?;
            let code = Code::parse(code).ok_or_else(|| SettingsError::new(name, format!("{code:?} is not an integer under 10 digits")))?;
            Ok((code, value.trim().to_owned()))
        })
        .collect()
}

/// Prices in cents, from "32.20" or "32,20".
fn cents(text: &str) -> Option<i64> {
    let text = text.trim().replace(',', ".");
    let (units, decimals) = text.split_once('.').unwrap_or((&text, "0"));
    let decimals = format!("{decimals:0<2}");
    if decimals.len() > 2 || !decimals.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    units.parse::<i64>().ok()?.checked_mul(100)?.checked_add(decimals.parse::<i64>().ok()?)
}

fn euros(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// The tariff grid: code → (name, price in cents).
fn tariffs(fields: &Fields<'_>) -> Result<HashMap<Code, (String, i64)>, SettingsError> {
    table(fields, "tariffs")?
        .into_iter()
        .map(|(code, value)| {
            let (name, price) = value
                .rsplit_once(':')
                .ok_or_else(|| SettingsError::new("tariffs", format!("{value:?}: expected code=name:price")))?;
            let price = cents(price).ok_or_else(|| SettingsError::new("tariffs", format!("{price:?} is not a price")))?;
            Ok((code, (name.trim().to_owned(), price)))
        })
        .collect()
}

/// The correspondence tables, checked once per import.
pub struct Tables {
    halls: HashMap<Code, String>,
    zones: HashMap<Code, String>,
    categories: HashMap<Code, String>,
    tariffs: HashMap<Code, (String, i64)>,
}

impl Tables {
    pub fn from_settings(fields: &Fields<'_>) -> Result<Self, SettingsError> {
        Ok(Self { halls: table(fields, "halls")?, zones: table(fields, "zones")?, categories: table(fields, "categories")?, tariffs: tariffs(fields)? })
    }
}

/// A Ticketnet sales file for one performance's event: every sale of that event is a ticket;
/// a row refused gets its error code, and an off-grid price stops the integration.
pub struct TicketnetFormat {
    headers: Vec<String>,
    /// Each column by its name in upper case (the first of a name given twice).
    columns: HashMap<String, usize>,
    tables: Tables,
    event: EventCode,
}

impl TicketnetFormat {
    pub fn new(headers: &[String], tables: Tables, event: EventCode) -> Result<Self, FileError> {
        let columns: HashMap<String, usize> = headers.iter().enumerate().rev().map(|(i, h)| (h.to_ascii_uppercase(), i)).collect();
        let required = ["BARCODE", "EVENT", "CATEGORY", "TARIFF", "PRICE"];
        if let Some(missing) = required.iter().find(|c| !columns.contains_key(**c)) {
            return Err(FileError::Mapping(SettingsError::new("file", format!("column {missing} is missing ({})", headers.join(";")))));
        }
        Ok(Self { headers: headers.to_vec(), columns, tables, event })
    }
}

impl TicketFormat for TicketnetFormat {
    fn ticket(&self, row: Row<'_>) -> Result<Option<ImportedTicket>, RowRefusal> {
        let (tables, event) = (&self.tables, &self.event);
        let reject = |reason: String| Err(RowRefusal::Rejected(reason));
        let at = |name: &str| self.columns.get(name).and_then(|&c| row.get(c)).map(str::trim).unwrap_or_default();
        let barcode = at("BARCODE");
        if barcode.len() != BARCODE_LENGTH || !barcode.starts_with(BARCODE_PREFIX) || !barcode.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return reject(format!("barcode {barcode:?}: direct entry needs {BARCODE_LENGTH} characters starting with {BARCODE_PREFIX}"));
        }
        if Code::parse(at("EVENT")) != Some(event.event) {
            return reject(format!("error 11: unknown event {:?}", at("EVENT")));
        }
        let session = at("SESSION");
        if event.session.as_deref().is_some_and(|s| s != session) {
            return reject(format!("error 12: unknown session {session:?}"));
        }
        let known = |table: &HashMap<Code, String>, name: &str| {
            let text = at(name);
            if table.is_empty() || text.is_empty() { Ok(()) } else { Code::parse(text).filter(|c| table.contains_key(c)).map(|_| ()).ok_or(text) }
        };
        if let Err(hall) = known(&tables.halls, "HALL") {
            return reject(format!("error 10: unknown hall {hall:?}"));
        }
        if let Err(zone) = known(&tables.zones, "ZONE") {
            return reject(format!("error 14: unknown zone {zone:?}"));
        }
        let Some(category) = Code::parse(at("CATEGORY")).and_then(|c| tables.categories.get(&c)) else {
            return reject(format!("error 16: new category {:?}", at("CATEGORY")));
        };
        let Some((tariff, grid_price)) = Code::parse(at("TARIFF")).and_then(|c| tables.tariffs.get(&c)) else {
            return reject(format!("error 19: new tariff type {:?}", at("TARIFF")));
        };
        let Some(price) = cents(at("PRICE")) else {
            return reject(format!("price {:?} is not a price", at("PRICE")));
        };
        if price != *grid_price {
            // The allotment interface stops here until the grid or the sale is corrected.
            return Err(RowRefusal::Stop(format!(
                "price check: ticket {barcode} sold at {} but tariff {tariff:?} is {} in the grid; integration stopped",
                euros(price),
                euros(*grid_price)
            )));
        }
        let Ok(parsed) = Barcode::parse(barcode) else {
            return reject(format!("barcode {barcode:?} is not a ticket number"));
        };
        let holder = [at("FIRST_NAME"), at("LAST_NAME")].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ");
        let fields = fields_json(self.headers.iter().map(String::as_str).zip(row.cells()).chain([("TARIFF_NAME", tariff.as_str())]));
        Ok(Some(ImportedTicket {
            barcode: parsed,
            state: TicketState::Valid,
            category: category.clone(),
            holder: (!holder.is_empty()).then_some(holder),
            fields,
            partner_scanned_at: None,
        }))
    }
}

/// The event code a performance gives this source.
pub fn event_of(options: &app::domain::FieldValues) -> Result<EventCode, SettingsError> {
    let fields = Fields::check(options, SourceKind::Ticketnet.attachment_fields())?;
    EventCode::parse("event_code", &fields.required("event_code")?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::domain::FieldValues;

    fn settings() -> FieldValues {
        [
            ("categories", "1=Carré Or; 2=Tribune"),
            ("tariffs", "10=Plein tarif:32.20\n11=Réduit:25,00"),
            ("halls", "7=Grande salle"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    fn import(csv: &str, event: &str) -> Result<Vec<ImportedTicket>, FileError> {
        let options: FieldValues = [("event_code".to_owned(), event.to_owned())].into();
        super::super::file::import(SourceKind::Ticketnet, csv.as_bytes(), "ventes.csv", &settings(), &options, 0).map(|(_, tickets)| tickets)
    }

    const HEADER: &str = "BARCODE;EVENT;SESSION;HALL;ZONE;FLOOR;CATEGORY;TARIFF;PRICE;SEAT;LAST_NAME;FIRST_NAME\n";

    #[test]
    fn codes_are_integers_under_ten_digits_and_sessions_at_most_ten_characters() {
        assert_eq!(Code::parse("123456789"), Some(Code(123_456_789)));
        assert_eq!(Code::parse("1234567890"), None);
        assert_eq!(Code::parse("12a"), None);
        assert!(EventCode::parse("e", "4521_FINALE").is_ok());
        assert!(EventCode::parse("e", "4521_ABCDEFGHIJK").is_err());
        assert!(EventCode::parse("e", "4521_").is_err());
    }

    #[test]
    fn sales_map_through_the_correspondence_tables() {
        let csv = format!("{HEADER}02000000000001;4521;;7;;;1;10;32.20;A12;Curie;Marie\n02000000000002;4521;;7;;;2;11;25,00;;;\n");
        let tickets = import(&csv, "4521").expect("imports");
        assert_eq!(tickets.len(), 2);
        assert_eq!(tickets[0].category, "Carré Or");
        assert_eq!(tickets[0].holder.as_deref(), Some("Marie Curie"));
        assert!(tickets[0].fields.contains("Plein tarif"));
    }

    #[test]
    fn rows_are_refused_with_the_interface_error_codes() {
        let csv = format!(
            "{HEADER}0300000000000X;4521;;7;;;1;10;32.20;;;\n02000000000002;999;;7;;;1;10;32.20;;;\n02000000000003;4521;;8;;;1;10;32.20;;;\n\
             02000000000004;4521;;7;;;3;10;32.20;;;\n02000000000005;4521;;7;;;1;12;32.20;;;\n"
        );
        let Err(FileError::Rejected(rows)) = import(&csv, "4521") else { panic!("expected rejections") };
        let reasons: Vec<&str> = rows.iter().map(|r| r.reason.as_str()).collect();
        assert!(reasons[0].contains("14 characters starting with 02"), "{reasons:?}");
        assert!(reasons[1].starts_with("error 11"), "{reasons:?}");
        assert!(reasons[2].starts_with("error 10"), "{reasons:?}");
        assert!(reasons[3].starts_with("error 16"), "{reasons:?}");
        assert!(reasons[4].starts_with("error 19"), "{reasons:?}");
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), vec![2, 3, 4, 5, 6]);
    }

    #[test]
    fn a_price_off_the_grid_stops_the_integration_naming_the_ticket_and_both_prices() {
        let csv = format!("{HEADER}02000000000001;4521;;7;;;1;10;30.00;;;\n02000000000002;4521;;7;;;1;10;32.20;;;\n");
        let Err(FileError::Rejected(rows)) = import(&csv, "4521") else { panic!("expected the price check to stop") };
        assert_eq!(rows.len(), 1);
        assert!(rows[0].reason.contains("02000000000001") && rows[0].reason.contains("30.00") && rows[0].reason.contains("32.20"), "{}", rows[0].reason);
    }

    #[test]
    fn a_competition_session_must_match() {
        let csv = format!("{HEADER}02000000000001;4521;FINALE;7;;;1;10;32.20;;;\n02000000000002;4521;DEMI;7;;;1;10;32.20;;;\n");
        let Err(FileError::Rejected(rows)) = import(&csv, "4521_FINALE") else { panic!("expected a rejection") };
        assert_eq!(rows.len(), 1);
        assert!(rows[0].reason.starts_with("error 12"));
    }
}
