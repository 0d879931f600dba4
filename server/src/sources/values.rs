//! Reading loosely typed partner JSON: partners send flags as `"1"`, `1` or `true`, ids as
//! strings or numbers, and dates with or without a time zone.

use app::ssr::storage::{ImportedTicket, Millis};
use app::engine::{Barcode, TicketState};
use chrono::{DateTime, NaiveDateTime};
use serde_json::Value;

use super::ConnectorError;

/// A connector's own cursor, kept as JSON. One it did not write (another shape, or none) starts
/// over: a full pull is always safe.
pub fn cursor_from<T: serde::de::DeserializeOwned + Default>(text: Option<&str>) -> T {
    text.and_then(|t| serde_json::from_str(t).ok()).unwrap_or_default()
}

/// The text of a connector's cursor, for `cursor_from`.
pub fn cursor_text<T: serde::Serialize>(cursor: &T) -> String {
    serde_json::to_string(cursor).unwrap_or_default()
}

/// A string or a number as text; `None` for null, absent or empty.
pub fn text(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    (!text.is_empty()).then_some(text)
}

/// `"1"`, `1`, `true`, `"true"`.
pub fn truthy(value: &Value) -> bool {
    matches!(text(value).as_deref(), Some("1" | "true" | "TRUE" | "True"))
}

/// An ISO date (with or without zone, `T` or space); a date without zone is read as UTC.
pub fn time_of(text: &str) -> Option<Millis> {
    time_in(text, chrono_tz::UTC)
}

/// The same, a date without zone read as French time: Weezevent and Billetweb give the
/// organiser's local times.
pub fn french_time_of(text: &str) -> Option<Millis> {
    time_in(text, chrono_tz::Europe::Paris)
}

fn time_in(text: &str, zone: chrono_tz::Tz) -> Option<Millis> {
    let text = text.trim();
    DateTime::parse_from_rfc3339(text).map(|t| t.timestamp_millis()).ok().or_else(|| {
        ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
            .iter()
            .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
            // The earlier of an ambiguous hour (clocks going back).
            .and_then(|t| t.and_local_timezone(zone).earliest())
            .map(|t| t.timestamp_millis())
    })
}

/// A holder's name from its parts, `None` when every part is empty.
pub fn holder(parts: &[Option<String>]) -> Option<String> {
    let name = parts.iter().flatten().map(|s| s.trim()).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ");
    (!name.is_empty()).then_some(name)
}

/// The field `name` of a JSON object, `Null` when absent.
pub fn field<'a>(object: &'a Value, name: &str) -> &'a Value {
    object.get(name).unwrap_or(&Value::Null)
}

/// One imported ticket; `id` names the partner's record in errors.
pub fn ticket(
    id: &str,
    barcode: &Value,
    state: TicketState,
    category: Option<String>,
    holder: Option<String>,
    fields: &Value,
    partner_scanned_at: Option<Millis>,
) -> Result<ImportedTicket, ConnectorError> {
    let raw = text(barcode).ok_or_else(|| ConnectorError::Malformed(format!("ticket {id}: no barcode")))?;
    let barcode = Barcode::parse(&raw).map_err(|e| ConnectorError::Malformed(format!("ticket {id}: barcode: {e}")))?;
    Ok(ImportedTicket { barcode, state, category: category.unwrap_or_default(), holder, fields: fields.to_string(), partner_scanned_at })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn loose_values_read_as_partners_send_them() {
        assert_eq!(text(&json!(12)).as_deref(), Some("12"));
        assert_eq!(text(&json!(" a ")).as_deref(), Some("a"));
        assert_eq!(text(&json!("")), None);
        assert_eq!(text(&Value::Null), None);
        for yes in [json!("1"), json!(1), json!(true), json!("true")] {
            assert!(truthy(&yes), "{yes}");
        }
        for no in [json!("0"), json!(0), json!(false), Value::Null, json!("")] {
            assert!(!truthy(&no), "{no}");
        }
    }

    #[test]
    fn dates_with_and_without_zone() {
        assert_eq!(time_of("2026-05-01T20:00:00Z"), Some(1_777_665_600_000));
        assert_eq!(time_of("2026-05-01T22:00:00+02:00"), Some(1_777_665_600_000));
        assert_eq!(time_of("2026-05-01 20:00:00"), Some(1_777_665_600_000));
        assert_eq!(time_of("yesterday"), None);
        assert_eq!(french_time_of("2026-05-01 22:00:00"), Some(1_777_665_600_000), "summer time");
        assert_eq!(french_time_of("2026-12-01 21:00:00"), time_of("2026-12-01T20:00:00Z"), "winter time");
        assert_eq!(french_time_of("2026-05-01T20:00:00Z"), Some(1_777_665_600_000));
    }
}
