//! Domain types shared by the WASM UI and the server. Each one can only hold a valid value:
//! raw input is parsed once, at the boundary, into these types.

mod gates;
mod institution;
mod login;
mod reports;
mod rights;
mod shows;
mod source_form;
mod sources;
mod uploads;

pub use crate::ids::{EventId, InstitutionId, LoginId, SourceId, VenueId};
pub use gates::{CategoryFields, GateFields};
pub use institution::{DisplayName, Institution, InstitutionName, check_scan_deadline, parse_scan_deadline};
pub use login::{LoginName, Password};
pub use reports::*;
pub use rights::Rights;
pub use shows::{EventRecord, GridRow, PerformanceFields, PerformanceForm, VenueRecord, VenueZone};
pub use sources::{
    AttachmentView, FieldSpec, FieldType, FieldValues, FilePreview, ImportSummary, PartnerEvent, RefreshPeriods,
    RejectedRow, SourceKind, SourceView,
};
pub use uploads::UploadAnswer;

/// Why a piece of input was refused; `field` names the form field for the UI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ParseError {
    pub field: &'static str,
    pub reason: ParseFailure,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ParseFailure {
    Empty,
    TooShort { min: usize },
    TooLong { max: usize },
    BadCharacters,
    /// A number outside what the field allows.
    OutOfRange { min: u32, max: u32 },
}

impl std::fmt::Display for ParseFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseFailure::Empty => write!(f, "empty"),
            ParseFailure::TooShort { min } => write!(f, "shorter than {min} characters"),
            ParseFailure::TooLong { max } => write!(f, "longer than {max} characters"),
            ParseFailure::BadCharacters => write!(f, "contains characters that are not allowed"),
            ParseFailure::OutOfRange { min, max } => write!(f, "not between {min} and {max}"),
        }
    }
}
