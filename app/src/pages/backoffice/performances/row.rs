//! One performance's line of the grid: its dates at the venue, gauge and counter, PDA box, and
//! what can be done to it.

use leptos::prelude::*;

use billetix_core::domain::{GridRow, VenueZone};
use billetix_core::engine::PerformanceId;

use super::api::{SetArchived, SetPdaOpen};
use super::category_filters::CategoryFilters;
use super::grid::GridActions;
use super::performance_form::Draft;
use crate::error::AppError;
use crate::i18n::*;

/// An instant as the grid shows it at the venue; empty when there is none.
fn shown(millis: Option<i64>, zone: &str) -> String {
    VenueZone::parse(zone).ok().zip(millis).map(|(zone, millis)| zone.show(millis)).unwrap_or_default()
}

#[component]
pub(super) fn GridLine(
    row: GridRow,
    actions: GridActions,
    draft: Draft,
    /// Performances whose sources box is open: kept by the grid, so a refreshed line stays open.
    open_panels: RwSignal<std::collections::HashSet<PerformanceId>>,
    changed: Callback<()>,
    error: WriteSignal<Option<AppError>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let performance = row.performance;
    let gauge = (row.admitted * 100).checked_div(row.total).unwrap_or(0);
    let date = match row.window {
        Some((from, to)) => format!("{} → {}", shown(Some(from), &row.time_zone), shown(Some(to), &row.time_zone)),
        None => shown(row.starts_at, &row.time_zone),
    };
    let toggle = move |ev: leptos::ev::Event| {
        actions.set_pda_open.dispatch(SetPdaOpen { performance, open: event_target_checked(&ev) });
    };
    let archived = row.archived;
    let archive = move |_| {
        actions.set_archived.dispatch(SetArchived { performance, archived: !archived });
    };
    let edit = {
        let row = row.clone();
        move |_| draft.edit(&row)
    };
    view! {
        <tr data-performance=performance.to_string() data-venue=row.venue.clone() class:archived=archived>
            <td>{row.event.clone()} <small class="muted">{row.venue.clone()} " · " {row.label.clone()}</small></td>
            <td>{date}</td>
            <td>{shown(row.import_end, &row.time_zone)}</td>
            <td><progress max="100" value=gauge.to_string()></progress> " " {gauge} "%"</td>
            <td data-testid="counter">{row.admitted} " / " {row.total}</td>
            <td><input type="checkbox" data-testid="pda" prop:checked=row.pda_open on:change=toggle /></td>
            <td>
                <button type="button" class="link" data-testid="edit" on:click=edit>{t!(i18n, edit)}</button>
                <button type="button" class="link" data-testid="archive" on:click=archive>
                    {if archived { t!(i18n, unarchive).into_any() } else { t!(i18n, archive).into_any() }}
                </button>
                <CategoryFilters performance changed error />
                <super::gates::GatesPanel performance error />
                <super::super::sources::PerformanceSourcesPanel performance open_panels changed />
                <super::super::reports::ReportLink performance />
            </td>
        </tr>
    }
}
