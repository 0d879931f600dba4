//! What server functions ask of the sources side of the server (`server/src/sources/`): the
//! connectors, the secret key and the scheduler live there; this is their face to the app.

use async_trait::async_trait;

use billetix_core::domain::{FieldValues, PartnerEvent, SourceKind};

use super::storage::SourceRecord;
use crate::error::AppError;

#[async_trait]
pub trait SourceService: Send + Sync {
    /// Checks a source's parameters and seals its secrets: the new ones typed, the others kept
    /// from `existing` (what is stored) unless an address changed. Errors name the field and
    /// the cause.
    async fn prepare(
        &self,
        kind: SourceKind,
        settings: &FieldValues,
        secrets: &FieldValues,
        existing: Option<&SourceRecord>,
    ) -> Result<Option<String>, AppError>;
    /// Checks a performance's options for this source.
    fn check_options(&self, source: &SourceRecord, options: &FieldValues) -> Result<(), AppError>;
    async fn list_events(&self, source: &SourceRecord) -> Result<Vec<PartnerEvent>, AppError>;
    /// Something became due ("refresh now"): look now rather than at the next tick.
    fn wake_scheduler(&self);
}
