//! Per-performance ticket reports (SPEC §3): one row per ticket with every field its source
//! gave and what the doors did with it; filtered, sorted and paged by the database.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::engine::{Direction, TicketState, Verdict};
use crate::ids::{Millis, PerformanceId};

/// Rows in one page of a report: at least 1, at most [`PageSize::MAX`]. Out-of-range input is
/// clamped, so a page can never ask the database for everything at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "u32", into = "u32")]
pub struct PageSize(u32);

impl PageSize {
    pub const MAX: u32 = 500;
    pub const DEFAULT: PageSize = PageSize(50);

    pub fn new(rows: u32) -> Self {
        PageSize(rows.clamp(1, Self::MAX))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl Default for PageSize {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl From<u32> for PageSize {
    fn from(rows: u32) -> Self {
        PageSize::new(rows)
    }
}

impl From<PageSize> for u32 {
    fn from(size: PageSize) -> Self {
        size.0
    }
}

/// What a person typed to find tickets by barcode or holder name, whole or part: trimmed and
/// cut at [`ReportFilter::MAX_CHARS`] characters. Empty matches every ticket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub struct ReportFilter(String);

impl ReportFilter {
    pub const MAX_CHARS: usize = 100;

    pub fn new(text: &str) -> Self {
        ReportFilter(text.trim().chars().take(Self::MAX_CHARS).collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A `LIKE` pattern (escape character `\`) matching the text anywhere, its own `%`, `_`
    /// and `\` taken literally.
    pub fn like_pattern(&self) -> String {
        let mut pattern = String::with_capacity(self.0.len() + 2);
        pattern.push('%');
        for c in self.0.chars() {
            if matches!(c, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        pattern
    }
}

impl From<String> for ReportFilter {
    fn from(text: String) -> Self {
        ReportFilter::new(&text)
    }
}

impl From<ReportFilter> for String {
    fn from(filter: ReportFilter) -> Self {
        filter.0
    }
}

/// A column a report can be sorted on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportColumn {
    #[default]
    Barcode,
    State,
    Category,
    Holder,
    Source,
    FirstEntry,
    Passes,
}

impl ReportColumn {
    pub const ALL: [ReportColumn; 7] = [
        ReportColumn::Barcode,
        ReportColumn::State,
        ReportColumn::Category,
        ReportColumn::Holder,
        ReportColumn::Source,
        ReportColumn::FirstEntry,
        ReportColumn::Passes,
    ];
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportQuery {
    pub performance: PerformanceId,
    /// From 0.
    #[serde(default)]
    pub page: u32,
    #[serde(default)]
    pub page_size: PageSize,
    #[serde(default)]
    pub sort: ReportColumn,
    #[serde(default)]
    pub descending: bool,
    #[serde(default)]
    pub filter: ReportFilter,
}

impl ReportQuery {
    /// Rows skipped before this page.
    pub fn offset(&self) -> u64 {
        u64::from(self.page) * u64::from(self.page_size.get())
    }
}

/// One ticket of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRow {
    pub barcode: String,
    pub state: TicketState,
    pub category: String,
    pub holder: Option<String>,
    /// The source that imported it (none for numbers entered otherwise).
    pub source_name: Option<String>,
    /// Every field the source gave, as text.
    pub fields: BTreeMap<String, String>,
    /// Admitted scans.
    pub passes: u32,
    /// The first admission inwards.
    pub first_entry: Option<Millis>,
    /// The latest scan, admitted or not.
    pub last_scan: Option<Millis>,
    /// Scans flagged as anomalies (offline double entry…).
    pub anomalies: u32,
    /// Scans whose verdict the device decided (offline, or the server too slow).
    pub device_decisions: u32,
    /// Of those, the ones the server's own verdict disagreed with.
    pub disagreements: u32,
    /// Device decisions made with a clock more than a minute off the server's.
    pub clock_off: u32,
}

impl ReportRow {
    /// The source's fields from their stored JSON object: texts as they are, other values as
    /// JSON, nulls empty. Anything but an object gives no fields.
    pub fn fields_from_json(json: Option<&str>) -> BTreeMap<String, String> {
        let Some(serde_json::Value::Object(map)) = json.and_then(|j| serde_json::from_str(j).ok())
        else {
            return BTreeMap::new();
        };
        map.into_iter()
            .map(|(key, value)| {
                let text = match value {
                    serde_json::Value::String(s) => s,
                    serde_json::Value::Null => String::new(),
                    other => other.to_string(),
                };
                (key, text)
            })
            .collect()
    }
}

/// Tickets of one category: how many, how many valid, how many admitted at least once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryTotal {
    pub category: String,
    pub tickets: u64,
    pub valid: u64,
    pub admitted: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportPage {
    pub rows: Vec<ReportRow>,
    /// Tickets the filter matches, over all pages.
    pub total_matching: u64,
    /// Over the whole performance, whatever the filter.
    pub totals_by_category: Vec<CategoryTotal>,
}

/// Why a scan's admission was flagged afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanAnomaly {
    /// Admitted offline though the ticket had already passed.
    DoubleEntry,
    /// Admitted offline though the server knew better (cancelled meanwhile…).
    AdmittedAgainstRules,
    /// Left through an entry/exit door while never seen entering.
    ExitWithoutEntry,
}

/// One scan of a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: Millis,
    pub device: String,
    pub direction: Direction,
    pub admitted: bool,
    pub verdict: Verdict,
    /// Decided on the device (its verdict was the one shown at the door).
    pub offline: bool,
    pub anomaly: Option<ScanAnomaly>,
    /// The device's clock when it scanned.
    pub client_time: Millis,
    /// Server decisions: the round trip the device measured.
    pub round_trip_ms: Option<i64>,
    /// Device decisions: why the server's verdict was not used.
    pub device_reason: Option<crate::sync::protocol::DeviceReason>,
    /// Device decisions: whether the server's own verdict was the same.
    pub server_agreed: Option<bool>,
    /// Server time minus device time, as the device measured it.
    pub clock_skew_ms: Option<i64>,
}

impl HistoryEntry {
    /// The server's clock at the scan, from the device's and its measured difference.
    pub fn server_clock(&self) -> Option<Millis> {
        self.clock_skew_ms.map(|skew| self.client_time.saturating_add(skew))
    }

    /// A device decision made with a clock more than a minute off the server's.
    pub fn clock_off(&self) -> bool {
        self.offline && self.clock_skew_ms.is_some_and(|skew| skew.abs() > crate::sync::protocol::MAX_CLOCK_SKEW_MS)
    }
}

/// Every scan of one ticket, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketHistory {
    pub barcode: String,
    pub scans: Vec<HistoryEntry>,
}

/// Export formats of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Xlsx,
    Csv,
}

impl ExportFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Xlsx => "xlsx",
            ExportFormat::Csv => "csv",
        }
    }

    /// Where the browser downloads a performance's report.
    pub fn url(self, performance: PerformanceId) -> String {
        format!(
            "/export/report?performance={performance}&format={}",
            self.extension()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_are_clamped() {
        assert_eq!(PageSize::new(0).get(), 1);
        assert_eq!(PageSize::new(10_000).get(), PageSize::MAX);
        let parsed: PageSize = serde_json::from_str("100000").expect("a number");
        assert_eq!(parsed.get(), PageSize::MAX);
    }

    #[test]
    fn filters_are_trimmed_and_escaped() {
        assert_eq!(
            ReportFilter::new("  ab%c_d\\ ").like_pattern(),
            "%ab\\%c\\_d\\\\%"
        );
        assert_eq!(
            ReportFilter::new(&"x".repeat(500)).as_str().len(),
            ReportFilter::MAX_CHARS
        );
    }

    #[test]
    fn fields_read_any_json() {
        let fields = ReportRow::fields_from_json(Some(r#"{"seat":"A1","price":12.5,"note":null}"#));
        assert_eq!(fields.get("seat").map(String::as_str), Some("A1"));
        assert_eq!(fields.get("price").map(String::as_str), Some("12.5"));
        assert_eq!(fields.get("note").map(String::as_str), Some(""));
        assert!(ReportRow::fields_from_json(Some("[1]")).is_empty());
        assert!(ReportRow::fields_from_json(None).is_empty());
    }
}
