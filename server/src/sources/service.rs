//! The sources side of the server as the app's server functions see it.

use app::backend::sources::SourceService;
use app::backend::storage::SourceRecord;
use app::domain::{FieldType, FieldValues, PartnerEvent, SourceKind};
use app::error::AppError;
use async_trait::async_trait;

use super::scheduler::{Partners, RefreshError};
use super::settings::{Fields, SettingsError};
use super::ConnectorError;

fn settings_error(e: SettingsError) -> AppError {
    AppError::SourceSettings { field: e.field, cause: e.cause }
}

fn refresh_error(e: RefreshError) -> AppError {
    match e {
        RefreshError::Partner(ConnectorError::Settings(e)) => settings_error(e),
        RefreshError::Storage(e) => e.into(),
        other => AppError::Partner(other.to_string()),
    }
}

#[async_trait]
impl SourceService for Partners {
    fn prepare(&self, kind: SourceKind, settings: &FieldValues, secrets: &FieldValues, sealed: Option<&str>) -> Result<Option<String>, AppError> {
        let mut kept = match sealed {
            Some(sealed) => self.secrets.open(sealed).map_err(|e| AppError::Partner(e.to_string()))?,
            None => FieldValues::new(),
        };
        let secret_names: Vec<&str> =
            kind.fields().iter().filter(|f| f.field_type == FieldType::Secret).map(|f| f.name).collect();
        kept.extend(
            secrets
                .iter()
                .filter(|(name, value)| secret_names.contains(&name.as_str()) && !value.trim().is_empty())
                .map(|(name, value)| (name.clone(), value.trim().to_owned())),
        );
        let mut all = settings.clone();
        all.extend(kept.clone());
        Fields::check(&all, kind.fields()).map_err(settings_error)?;
        if !kind.is_file() {
            super::connector(kind, settings, &kept, &self.http).map_err(|e| refresh_error(e.into()))?;
        }
        Ok((!kept.is_empty()).then(|| self.secrets.seal(&kept)))
    }

    fn check_options(&self, source: &SourceRecord, options: &FieldValues) -> Result<(), AppError> {
        Fields::check(options, source.kind.attachment_fields()).map_err(settings_error)?;
        if source.kind.is_file() {
            return super::file::check_options(source.kind, options).map_err(settings_error);
        }
        self.connector_for(source).map_err(refresh_error)?.check_options(options).map_err(settings_error)
    }

    async fn list_events(&self, source: &SourceRecord) -> Result<Vec<PartnerEvent>, AppError> {
        let connector = self.connector_for(source).map_err(refresh_error)?;
        self.storage.record_events_listed(source.id, 0).await?;
        // The connector reports each page as it comes; the latest count is written beside it.
        let (seen, mut counts) = tokio::sync::watch::channel(0u64);
        let report = move |n: u64| {
            seen.send_replace(n);
        };
        let listing = connector.list_events(&report);
        tokio::pin!(listing);
        let events = loop {
            tokio::select! {
                biased;
                listed = &mut listing => break listed.map_err(|e| refresh_error(e.into()))?,
                Ok(()) = counts.changed() => {
                    let n = *counts.borrow_and_update();
                    if let Err(e) = self.storage.record_events_listed(source.id, n).await {
                        tracing::warn!(source = source.id.0, error = %e, "listing progress not recorded");
                    }
                }
            }
        };
        self.storage.record_events_listed(source.id, events.len() as u64).await?;
        Ok(events)
    }

    fn wake_scheduler(&self) {
        self.wake.notify_one();
    }
}
