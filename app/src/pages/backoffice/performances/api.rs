//! The performance grid's server functions: venues, events and performances of an
//! institution, for those with back-office access to it (`ssr::access::Backoffice`).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use billetix_core::domain::{EventId, EventRecord, GridRow, InstitutionId, VenueId, VenueRecord};
use billetix_core::engine::{Gate, PerformanceId};
use billetix_core::ids::GateId;
use billetix_core::sync::protocol::GateSet;

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::ssr::access::Backoffice;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalogue {
    pub venues: Vec<VenueRecord>,
    pub events: Vec<EventRecord>,
}

/// The form's fields, as `PerformanceForm::parse` reads them.
#[cfg(feature = "ssr")]
fn performance_fields<'a>(
    label: &'a str,
    starts_at: &'a Option<String>,
    valid_from: &'a Option<String>,
    valid_to: &'a Option<String>,
    import_end: &'a Option<String>,
) -> billetix_core::domain::PerformanceFields<'a> {
    billetix_core::domain::PerformanceFields {
        label,
        starts_at: starts_at.as_deref(),
        valid_from: valid_from.as_deref(),
        valid_to: valid_to.as_deref(),
        import_end: import_end.as_deref(),
    }
}

#[server(endpoint = "performance_grid", input = leptos::server_fn::codec::Json)]
pub async fn performance_grid(institution: InstitutionId, with_archived: bool) -> Result<Vec<GridRow>, AppError> {
    let office = Backoffice::of_institution(institution).await?;
    Ok(office.storage().performance_grid(institution, with_archived).await?)
}

#[server(endpoint = "show_catalogue", input = leptos::server_fn::codec::Json)]
pub async fn show_catalogue(institution: InstitutionId) -> Result<Catalogue, AppError> {
    let office = Backoffice::of_institution(institution).await?;
    Ok(Catalogue { venues: office.storage().venues(institution).await?, events: office.storage().events(institution).await? })
}

#[server(endpoint = "create_venue", input = leptos::server_fn::codec::Json)]
pub async fn create_venue(institution: InstitutionId, name: String, time_zone: String) -> Result<VenueId, AppError> {
    use billetix_core::domain::{DisplayName, VenueZone};
    let office = Backoffice::of_institution(institution).await?;
    let name = DisplayName::parse(&name)?;
    let zone = VenueZone::parse(&time_zone)?;
    Ok(office.storage().create_venue(institution, name.as_str(), zone.name()).await?)
}

#[server(endpoint = "create_event", input = leptos::server_fn::codec::Json)]
pub async fn create_event(venue: VenueId, name: String) -> Result<EventId, AppError> {
    let office = Backoffice::of_venue(venue).await?;
    let name = billetix_core::domain::DisplayName::parse(&name)?;
    Ok(office.storage().create_event(venue, name.as_str()).await?)
}

/// A dated performance has `starts_at`; an undated one a label and a validity window. Times
/// are the venue's local times, as a `datetime-local` field gives them.
#[server(endpoint = "create_performance", input = leptos::server_fn::codec::Json)]
pub async fn create_performance(
    event: EventId,
    label: String,
    starts_at: Option<String>,
    valid_from: Option<String>,
    valid_to: Option<String>,
    import_end: Option<String>,
) -> Result<PerformanceId, AppError> {
    use crate::ssr::storage::NewPerformance;
    let office = Backoffice::of_event(event).await?;
    let fields = performance_fields(&label, &starts_at, &valid_from, &valid_to, &import_end);
    let form = billetix_core::domain::PerformanceForm::parse(office.record, fields)?;
    Ok(office
        .storage()
        .create_performance(&NewPerformance {
            event,
            label: form.label.to_string(),
            starts_at: form.starts_at,
            window: form.window,
            import_end: form.import_end,
        })
        .await?)
}

#[server(endpoint = "rename_venue", input = leptos::server_fn::codec::Json)]
pub async fn rename_venue(venue: VenueId, name: String) -> Result<(), AppError> {
    let office = Backoffice::of_venue(venue).await?;
    let name = billetix_core::domain::DisplayName::parse(&name)?;
    Ok(office.storage().rename_venue(venue, name.as_str()).await?)
}

#[server(endpoint = "rename_event", input = leptos::server_fn::codec::Json)]
pub async fn rename_event(event: EventId, name: String) -> Result<(), AppError> {
    let office = Backoffice::of_event(event).await?;
    let name = billetix_core::domain::DisplayName::parse(&name)?;
    Ok(office.storage().rename_event(event, name.as_str()).await?)
}

/// Changes a performance's label, dates and import end, read as `create_performance` reads them.
#[server(endpoint = "update_performance", input = leptos::server_fn::codec::Json)]
pub async fn update_performance(
    performance: PerformanceId,
    label: String,
    starts_at: Option<String>,
    valid_from: Option<String>,
    valid_to: Option<String>,
    import_end: Option<String>,
) -> Result<(), AppError> {
    use billetix_core::domain::{PerformanceForm, VenueZone};
    let office = Backoffice::of_performance(performance).await?;
    let zone = VenueZone::parse(&office.record.time_zone).map_err(|_| AppError::Internal)?;
    let form = PerformanceForm::parse(zone, performance_fields(&label, &starts_at, &valid_from, &valid_to, &import_end))?;
    office.update_performance(&form).await
}

/// Ticks or unticks PDA: open or closed for scanning.
#[server(endpoint = "set_pda_open", input = leptos::server_fn::codec::Json)]
pub async fn set_pda_open(performance: PerformanceId, open: bool) -> Result<(), AppError> {
    Backoffice::of_performance(performance).await?.set_pda_open(open).await
}

/// Archived performances are hidden from the grid unless asked for.
#[server(endpoint = "set_archived", input = leptos::server_fn::codec::Json)]
pub async fn set_archived(performance: PerformanceId, archived: bool) -> Result<(), AppError> {
    let office = Backoffice::of_performance(performance).await?;
    Ok(office.storage().set_archived(performance, archived).await?)
}

/// The categories present in a performance, and which are excluded (refused as "filtered").
#[server(endpoint = "category_filters", input = leptos::server_fn::codec::Json)]
pub async fn category_filters(performance: PerformanceId) -> Result<Vec<(String, bool)>, AppError> {
    let office = Backoffice::of_performance(performance).await?;
    Ok(office.storage().performance_categories(performance).await?)
}

/// Excludes exactly `excluded` among the categories present.
#[server(endpoint = "set_category_filters", input = leptos::server_fn::codec::Json)]
pub async fn set_category_filters(performance: PerformanceId, excluded: Vec<String>) -> Result<(), AppError> {
    Backoffice::of_performance(performance).await?.set_category_filters(&excluded).await
}

/// A performance's gates and the version of its rules.
#[server(endpoint = "performance_gates", input = leptos::server_fn::codec::Json)]
pub async fn performance_gates(performance: PerformanceId) -> Result<GateSet, AppError> {
    Ok(Backoffice::of_performance(performance).await?.record.gates)
}

/// Adds a gate (`gate` absent) or replaces one's rules; either raises the performance's rules
/// version, and devices decide with the new rules from their next delta.
#[server(endpoint = "save_gate", input = leptos::server_fn::codec::Json)]
pub async fn save_gate(performance: PerformanceId, gate: Option<GateId>, rules: Gate) -> Result<GateId, AppError> {
    let office = Backoffice::of_performance(performance).await?;
    match gate {
        Some(gate) => office.update_gate(gate, &rules).await.map(|()| gate),
        None => office.create_gate(&rules).await,
    }
}

#[server(endpoint = "delete_gate", input = leptos::server_fn::codec::Json)]
pub async fn delete_gate(performance: PerformanceId, gate: GateId) -> Result<(), AppError> {
    Backoffice::of_performance(performance).await?.delete_gate(gate).await
}
