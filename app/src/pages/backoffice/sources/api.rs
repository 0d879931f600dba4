//! The sources' server functions: an institution's sources for its admins
//! (`ssr::access::Admin`), a performance's attached sources for its back office.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use billetix_core::domain::{AttachmentView, FieldValues, InstitutionId, RefreshPeriods, SourceId, SourceKind, SourceView};
use billetix_core::engine::PerformanceId;

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::ssr::access::{Admin, Backoffice};

#[cfg(feature = "ssr")]
fn view_of(record: crate::ssr::storage::SourceRecord) -> SourceView {
    let secrets_set = record.sealed_secrets.as_ref().map(|_| record.kind.secret_names()).unwrap_or_default();
    SourceView { id: record.id, kind: record.kind, name: record.name, settings: record.settings, secrets_set, periods: record.periods }
}

#[server(endpoint = "sources/list", input = leptos::server_fn::codec::Json)]
pub async fn institution_sources(institution: InstitutionId) -> Result<Vec<SourceView>, AppError> {
    let admin = Admin::of_institution(institution).await?;
    Ok(admin.storage().sources(institution).await?.into_iter().map(view_of).collect())
}

/// Creates (`source: None`) or updates a source. Secrets left empty keep their stored value,
/// unless an address changed: then every secret is to be typed again.
#[server(endpoint = "sources/save", input = leptos::server_fn::codec::Json)]
pub async fn save_source(
    institution: InstitutionId,
    source: Option<SourceId>,
    kind: SourceKind,
    name: String,
    settings: FieldValues,
    secrets: FieldValues,
    periods: RefreshPeriods,
) -> Result<SourceId, AppError> {
    use crate::ssr::storage::{NewSource, StorageError};
    let admin = Admin::of_institution(institution).await?;
    let name = billetix_core::domain::DisplayName::parse(&name)?;
    let existing = match source {
        Some(id) => match admin.source(id).await? {
            record if record.kind == kind => Some(record),
            _ => return Err(AppError::NotFound),
        },
        None => None,
    };
    let settings = kind.own_settings(settings);
    let sealed = admin.context.sources.prepare(kind, &settings, &secrets, existing.as_ref()).await?;
    let periods = periods.at_least_a_minute();
    let new = NewSource { institution, kind, name: name.as_str().to_owned(), settings, sealed_secrets: sealed, periods };
    match existing {
        Some(existing) => {
            admin.storage().update_source(existing.id, &new).await?;
            Ok(existing.id)
        }
        None => admin.storage().create_source(&new).await.map_err(|e| match e {
            StorageError::AlreadyExists => AppError::AlreadyExists(kind.title().to_owned()),
            other => other.into(),
        }),
    }
}

#[server(endpoint = "sources/delete", input = leptos::server_fn::codec::Json)]
pub async fn delete_source(source: SourceId) -> Result<(), AppError> {
    let admin = Admin::of_source(source).await?;
    Ok(admin.storage().delete_source(source).await?)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourcesOfPerformance {
    pub attached: Vec<AttachmentView>,
    /// The institution's sources not attached yet (for its admins only: they hold settings).
    pub available: Vec<SourceView>,
    /// Whether the caller may attach, detach and refresh (the institution's admins, SPEC §2).
    pub manage: bool,
}

#[server(endpoint = "sources/of_performance", input = leptos::server_fn::codec::Json)]
pub async fn performance_sources(performance: PerformanceId) -> Result<SourcesOfPerformance, AppError> {
    let office = Backoffice::of_performance(performance).await?;
    let manage = office.administers();
    let attached = office.storage().attachments(performance).await?;
    let available = match manage {
        true => office
            .storage()
            .sources(office.institution)
            .await?
            .into_iter()
            .filter(|s| !attached.iter().any(|a| a.source == s.id))
            .map(view_of)
            .collect(),
        false => Vec::new(),
    };
    Ok(SourcesOfPerformance { attached, available, manage })
}

#[server(endpoint = "sources/attach", input = leptos::server_fn::codec::Json)]
pub async fn attach_source(performance: PerformanceId, source: SourceId, options: FieldValues) -> Result<(), AppError> {
    let admin = Admin::of_performance(performance).await?;
    let record = admin.source(source).await?;
    let options = record.kind.own_options(options);
    admin.context.sources.check_options(&record, &options)?;
    admin.storage().attach_source(performance, source, &options, crate::ssr::now_millis()).await?;
    admin.context.sources.wake_scheduler();
    Ok(())
}

/// Detaches a source; its scanned tickets stay, with their passes (and come back with them if
/// imported again). When they hold passes, the caller must name how many (`passes_confirmed`),
/// so nobody detaches a running door's source by a slip.
#[server(endpoint = "sources/detach", input = leptos::server_fn::codec::Json)]
pub async fn detach_source(performance: PerformanceId, source: SourceId, passes_confirmed: Option<u64>) -> Result<(), AppError> {
    let admin = Admin::of_performance(performance).await?;
    admin.source(source).await?;
    let attached = admin.storage().attachments(performance).await?.into_iter().find(|a| a.source == source);
    let passes = attached.map_or(0, |a| a.passes);
    if passes > 0 && passes_confirmed != Some(passes) {
        return Err(AppError::DetachNeedsConfirmation { passes });
    }
    admin.detach_source(source).await?;
    tracing::info!(%performance, %source, passes, "source detached");
    Ok(())
}

#[server(endpoint = "sources/refresh", input = leptos::server_fn::codec::Json)]
pub async fn refresh_source(performance: PerformanceId, source: SourceId) -> Result<(), AppError> {
    let admin = Admin::of_performance(performance).await?;
    admin.source(source).await?;
    admin.storage().request_refresh(performance, source, crate::ssr::now_millis()).await?;
    admin.context.sources.wake_scheduler();
    Ok(())
}
