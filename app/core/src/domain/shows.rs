//! Venues, events and the performance grid, as the back office shows them; the performance
//! form's times, read and shown in the venue's zone.

use serde::{Deserialize, Serialize};

use super::{DisplayName, ParseError, ParseFailure};
use crate::ids::{EventId, Millis, PerformanceId, VenueId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VenueRecord {
    pub id: VenueId,
    pub name: String,
    pub time_zone: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    pub id: EventId,
    pub venue: VenueId,
    pub name: String,
}

/// One line of an institution's performance grid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridRow {
    pub performance: PerformanceId,
    pub venue: String,
    pub event: String,
    pub label: String,
    pub starts_at: Option<Millis>,
    pub window: Option<(Millis, Millis)>,
    pub import_end: Option<Millis>,
    pub time_zone: String,
    pub pda_open: bool,
    pub archived: bool,
    /// Tickets admitted at least once.
    pub admitted: u64,
    /// Countable tickets: valid ones, and those admitted before they were cancelled.
    pub total: u64,
}


/// A venue's IANA time zone: the times of its performances are typed and shown in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VenueZone(chrono_tz::Tz);

impl Default for VenueZone {
    /// Where a partner does not say: most venues are in metropolitan France.
    fn default() -> Self {
        Self(chrono_tz::Europe::Paris)
    }
}

impl VenueZone {
    pub fn parse(name: &str) -> Result<Self, ParseError> {
        name.parse().map(Self).map_err(|_| ParseError { field: "time_zone", reason: ParseFailure::BadCharacters })
    }

    /// The zone named, or the default when it is missing or unknown.
    pub fn or_default(name: Option<&str>) -> Self {
        name.and_then(|n| Self::parse(n).ok()).unwrap_or_default()
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// A `datetime-local` value ("2026-11-22T20:30") at the venue, as an instant. In the hour
    /// seen twice when clocks go back, the earlier; a time skipped when they go forward does
    /// not exist and is refused.
    pub fn local_time(self, field: &'static str, value: &str) -> Result<Millis, ParseError> {
        use chrono::TimeZone;
        let invalid = ParseError { field, reason: ParseFailure::BadCharacters };
        let naive = chrono::NaiveDateTime::parse_from_str(value.trim(), "%Y-%m-%dT%H:%M").map_err(|_| invalid.clone())?;
        self.0.from_local_datetime(&naive).earliest().map(|t| t.timestamp_millis()).ok_or(invalid)
    }

    /// An instant as the grid shows it at the venue ("22/11/2026 20:30").
    pub fn show(self, millis: Millis) -> String {
        self.format(millis, "%d/%m/%Y %H:%M")
    }

    /// An instant as a `datetime-local` field holds it at the venue: `local_time` read back.
    pub fn form_value(self, millis: Millis) -> String {
        self.format(millis, "%Y-%m-%dT%H:%M")
    }

    fn format(self, millis: Millis, pattern: &str) -> String {
        chrono::DateTime::from_timestamp_millis(millis)
            .map(|t| t.with_timezone(&self.0).format(pattern).to_string())
            .unwrap_or_default()
    }
}

/// A performance as the back-office form gives it, checked, its times read in the venue's zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerformanceForm {
    pub label: DisplayName,
    pub starts_at: Option<Millis>,
    /// Undated performances: when their tickets are valid.
    pub window: Option<(Millis, Millis)>,
    pub import_end: Option<Millis>,
}

/// The form's fields as typed (`datetime-local` values; empty ones count as not given).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PerformanceFields<'a> {
    pub label: &'a str,
    pub starts_at: Option<&'a str>,
    pub valid_from: Option<&'a str>,
    pub valid_to: Option<&'a str>,
    pub import_end: Option<&'a str>,
}

impl PerformanceForm {
    /// A dated performance needs `starts_at` (its label may be left empty), an undated one a
    /// label and both ends of its validity window.
    pub fn parse(zone: VenueZone, fields: PerformanceFields<'_>) -> Result<Self, ParseError> {
        fn given(v: Option<&str>) -> Option<&str> {
            v.map(str::trim).filter(|v| !v.is_empty())
        }
        let starts_at = given(fields.starts_at).map(|v| zone.local_time("starts_at", v)).transpose()?;
        let window = match (given(fields.valid_from), given(fields.valid_to)) {
            (Some(from), Some(to)) => Some((zone.local_time("valid_from", from)?, zone.local_time("valid_to", to)?)),
            _ => None,
        };
        if starts_at.is_none() && window.is_none() {
            return Err(ParseError { field: "starts_at", reason: ParseFailure::Empty });
        }
        let label = if fields.label.trim().is_empty() && starts_at.is_some() { "—" } else { fields.label };
        let label = DisplayName::parse(label)?;
        let import_end = given(fields.import_end).map(|v| zone.local_time("import_end", v)).transpose()?;
        Ok(Self { label, starts_at, window, import_end })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paris() -> VenueZone {
        VenueZone::parse("Europe/Paris").expect("known zone")
    }

    #[test]
    fn zones_are_iana_names() {
        assert_eq!(paris().name(), "Europe/Paris");
        assert_eq!(VenueZone::parse("Mars/Olympus").map_err(|e| (e.field, e.reason)), Err(("time_zone", ParseFailure::BadCharacters)));
        assert_eq!(VenueZone::or_default(Some("Mars/Olympus")), paris());
        assert_eq!(VenueZone::or_default(None), paris());
        assert_eq!(VenueZone::or_default(Some("Indian/Reunion")).name(), "Indian/Reunion");
    }

    #[test]
    fn local_times_are_read_in_the_venue_zone() {
        // 20:30 in Paris in November (UTC+1) is 19:30 UTC.
        assert_eq!(paris().local_time("starts_at", " 2026-11-22T20:30 "), Ok(1_795_375_800_000));
        let reunion = VenueZone::parse("Indian/Reunion").expect("known zone");
        assert_eq!(reunion.local_time("starts_at", "2026-11-22T20:30"), Ok(1_795_375_800_000 - 3 * 3_600_000));
        assert_eq!(paris().local_time("import_end", "22/11/2026 20:30").map_err(|e| e.field), Err("import_end"));
    }

    #[test]
    fn daylight_saving_changes() {
        // 29 March 2026, 02:30 does not exist in Paris (clocks go from 02:00 to 03:00).
        assert_eq!(paris().local_time("starts_at", "2026-03-29T02:30").map_err(|e| e.reason), Err(ParseFailure::BadCharacters));
        // In the autumn hour seen twice, the earlier one.
        let twice = paris().local_time("starts_at", "2026-10-25T02:30").expect("exists");
        assert_eq!(paris().show(twice), "25/10/2026 02:30");
        assert_eq!(paris().local_time("starts_at", "2026-10-25T01:30").map(|t| twice - t), Ok(3_600_000));
    }

    #[test]
    fn shown_and_form_values_read_back() {
        let at = paris().local_time("starts_at", "2026-11-22T20:30").expect("valid");
        assert_eq!(paris().show(at), "22/11/2026 20:30");
        assert_eq!(paris().form_value(at), "2026-11-22T20:30");
        assert_eq!(paris().local_time("starts_at", &paris().form_value(at)), Ok(at));
    }

    fn fields<'a>(label: &'a str, starts_at: &'a str) -> PerformanceFields<'a> {
        PerformanceFields { label, starts_at: Some(starts_at), ..Default::default() }
    }

    #[test]
    fn a_dated_performance_needs_its_start_and_may_go_unlabelled() {
        let form = PerformanceForm::parse(paris(), fields("  ", "2026-11-22T20:30")).expect("valid");
        assert_eq!((form.label.as_str(), form.window, form.import_end), ("—", None, None));
        assert_eq!(form.starts_at, paris().local_time("starts_at", "2026-11-22T20:30").ok());
        let missing = PerformanceForm::parse(paris(), fields("Matinée", " "));
        assert_eq!(missing.map_err(|e| (e.field, e.reason)), Err(("starts_at", ParseFailure::Empty)));
        let bad = PerformanceForm::parse(paris(), fields("Matinée", "tomorrow"));
        assert_eq!(bad.map_err(|e| e.field), Err("starts_at"));
    }

    #[test]
    fn an_undated_performance_needs_a_label_and_both_ends_of_its_window() {
        let undated = |label, from, to| {
            PerformanceForm::parse(paris(), PerformanceFields { label, valid_from: Some(from), valid_to: Some(to), ..Default::default() })
        };
        let form = undated("Pass", "2026-07-01T08:00", "2026-07-03T23:00").expect("valid");
        assert_eq!(form.label.as_str(), "Pass");
        assert_eq!(form.starts_at, None);
        assert!(form.window.is_some_and(|(from, to)| from < to));
        assert_eq!(undated(" ", "2026-07-01T08:00", "2026-07-03T23:00").map_err(|e| (e.field, e.reason)), Err(("name", ParseFailure::Empty)));
        assert_eq!(undated("Pass", "2026-07-01T08:00", "").map_err(|e| e.field), Err("starts_at"));
        assert_eq!(undated("Pass", "2026-07-01T08:00", "soon").map_err(|e| e.field), Err("valid_to"));
    }

    #[test]
    fn the_import_end_is_optional_and_read_in_the_same_zone() {
        let with_end = PerformanceFields { import_end: Some("2026-11-22T18:00"), ..fields("", "2026-11-22T20:30") };
        let form = PerformanceForm::parse(paris(), with_end).expect("valid");
        assert_eq!(form.import_end.zip(form.starts_at).map(|(end, start)| start - end), Some(150 * 60_000));
        let bad = PerformanceFields { import_end: Some("later"), ..fields("", "2026-11-22T20:30") };
        assert_eq!(PerformanceForm::parse(paris(), bad).map_err(|e| e.field), Err("import_end"));
    }
}
