use super::{ParseError, ParseFailure};
use crate::ids::InstitutionId;
use serde::{Deserialize, Serialize};

const MAX_NAME: usize = 120;

/// A trimmed, non-empty name without control characters: institutions, venues, events,
/// performance labels.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DisplayName(String);

pub type InstitutionName = DisplayName;

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let fail = |reason| ParseError { field: "name", reason };
        let name = raw.trim();
        if name.is_empty() {
            return Err(fail(ParseFailure::Empty));
        }
        if name.chars().count() > MAX_NAME {
            return Err(fail(ParseFailure::TooLong { max: MAX_NAME }));
        }
        if name.chars().any(char::is_control) {
            return Err(fail(ParseFailure::BadCharacters));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DisplayName {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<DisplayName> for String {
    fn from(value: DisplayName) -> Self {
        value.0
    }
}

impl std::fmt::Display for DisplayName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A node of the institution tree; `parent` is `None` only for `root`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Institution {
    pub id: InstitutionId,
    pub parent: Option<InstitutionId>,
    pub name: InstitutionName,
}

/// How long the institution's scanners wait for the server's verdict, in ms, checked against
/// the range devices accept (`SCAN_DEADLINE_RANGE_MS`).
pub fn check_scan_deadline(ms: u32) -> Result<u32, ParseError> {
    let range = crate::sync::protocol::SCAN_DEADLINE_RANGE_MS;
    let out_of_range = ParseFailure::OutOfRange { min: *range.start(), max: *range.end() };
    range.contains(&ms).then_some(ms).ok_or(ParseError { field: "scan_deadline_ms", reason: out_of_range })
}

/// The scan deadline as typed in its form.
pub fn parse_scan_deadline(typed: &str) -> Result<u32, ParseError> {
    // Anything but a number in range reads as out of range: the form says which range.
    check_scan_deadline(typed.trim().parse().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_deadlines_are_within_what_devices_accept() {
        assert_eq!(check_scan_deadline(250), Ok(250));
        assert_eq!(parse_scan_deadline(" 5000 "), Ok(5000));
        let out = Err(ParseError { field: "scan_deadline_ms", reason: ParseFailure::OutOfRange { min: 50, max: 5000 } });
        assert_eq!(check_scan_deadline(10), out);
        assert_eq!(check_scan_deadline(5001), out);
        assert_eq!(parse_scan_deadline("fast"), out);
        assert_eq!(parse_scan_deadline(""), out);
    }

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(DisplayName::parse("  Zénith  ").map(|n| n.0), Ok("Zénith".into()));
        assert_eq!(InstitutionName::parse("   ").map_err(|e| e.reason), Err(ParseFailure::Empty));
        assert!(InstitutionName::parse("a\u{7}b").is_err());
        assert!(InstitutionName::parse(&"x".repeat(121)).is_err());
    }
}
