//! The sources side of the server as the app's server functions see it.

use app::ssr::sources::SourceService;
use app::ssr::storage::SourceRecord;
use app::domain::{FieldSpec, FieldType, FieldValues, PartnerEvent, SourceKind};
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

/// The first address field whose value (its default when empty) differs.
fn moved_address(kind: SourceKind, before: &FieldValues, after: &FieldValues) -> Option<&'static str> {
    let value = |values: &FieldValues, field: &FieldSpec| {
        let typed = values.get(field.name).map_or("", |v| v.trim());
        if typed.is_empty() { field.default.to_owned() } else { typed.to_owned() }
    };
    kind.fields()
        .iter()
        .filter(|f| f.field_type == FieldType::Url)
        .find(|f| value(before, f) != value(after, f))
        .map(|f| f.name)
}

#[async_trait]
impl SourceService for Partners {
    async fn prepare(
        &self,
        kind: SourceKind,
        settings: &FieldValues,
        secrets: &FieldValues,
        existing: Option<&SourceRecord>,
    ) -> Result<Option<String>, AppError> {
        let secret_names: Vec<&str> =
            kind.fields().iter().filter(|f| f.field_type == FieldType::Secret).map(|f| f.name).collect();
        let typed: FieldValues = secrets
            .iter()
            .filter(|(name, value)| secret_names.contains(&name.as_str()) && !value.trim().is_empty())
            .map(|(name, value)| (name.clone(), value.trim().to_owned()))
            .collect();
        let mut kept = match existing.and_then(|e| e.sealed_secrets.as_deref()) {
            Some(sealed) => self.secrets.open(sealed).map_err(|e| AppError::Partner(e.to_string()))?,
            None => FieldValues::new(),
        };
        // A stored secret goes only to the addresses it was typed for: whoever moves an address
        // types the secrets again, else one admin could send them anywhere.
        if let Some(moved) = existing.and_then(|e| moved_address(kind, &e.settings, settings))
            && let Some(name) = secret_names.iter().find(|name| kept.contains_key(**name) && !typed.contains_key(**name))
        {
            return Err(AppError::SourceSettings { field: (*name).to_owned(), cause: format!("to be typed again, as {moved} changed") });
        }
        kept.extend(typed);
        let mut all = settings.clone();
        all.extend(kept.clone());
        let fields = Fields::check(&all, kind.fields()).map_err(settings_error)?;
        if !kind.is_file() {
            // Names are resolved as they are typed; connections check them again.
            for field in kind.fields().iter().filter(|f| f.field_type == FieldType::Url) {
                if settings.get(field.name).is_none_or(|v| v.trim().is_empty()) {
                    continue;
                }
                if let Some(url) = fields.url_opt(field.name).map_err(settings_error)? {
                    self.http.addresses.check_resolved(&url).await.map_err(|cause| settings_error(SettingsError::new(field.name, cause)))?;
                }
            }
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
