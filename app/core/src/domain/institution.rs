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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(DisplayName::parse("  Zénith  ").map(|n| n.0), Ok("Zénith".into()));
        assert_eq!(InstitutionName::parse("   ").map_err(|e| e.reason), Err(ParseFailure::Empty));
        assert!(InstitutionName::parse("a\u{7}b").is_err());
        assert!(InstitutionName::parse(&"x".repeat(121)).is_err());
    }
}
