use serde::{Deserialize, Serialize};

const MAX_LEN: usize = 512;

/// A ticket number as the engine compares it. The one place where raw input (camera,
/// keyboard-wedge scanner, typing, partner files) is normalised: surrounding white space and
/// control characters (wedge scanners send CR, LF, TAB, GS…) are dropped. Case is kept: QR
/// payloads and partner secrets can be case-sensitive, so `abc` and `ABC` are two tickets.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Barcode(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BarcodeError {
    #[error("the ticket number is empty")]
    Empty,
    #[error("the ticket number is longer than {MAX_LEN} characters")]
    TooLong,
}

impl Barcode {
    pub fn parse(raw: &str) -> Result<Self, BarcodeError> {
        let cleaned: String = raw.chars().filter(|c| !c.is_control()).collect();
        let trimmed = cleaned.trim();
        if trimmed.is_empty() {
            return Err(BarcodeError::Empty);
        }
        if trimmed.chars().count() > MAX_LEN {
            return Err(BarcodeError::TooLong);
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Barcode {
    type Error = BarcodeError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Barcode> for String {
    fn from(value: Barcode) -> Self {
        value.0
    }
}

impl std::fmt::Display for Barcode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
