//! The performance grid of an institution (SPEC §3): event, date, import end, gauge, counter,
//! PDA box; with forms to add venues, events and performances. Counters follow the scans live.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::{Deserialize, Serialize};

use billetix_core::domain::{EventId, EventRecord, GridRow, InstitutionId, VenueId, VenueRecord};
use billetix_core::engine::PerformanceId;

use crate::components::error_text::ErrorLine;
use crate::error::AppError;
use crate::i18n::*;

/// Time zones offered for a venue (any IANA name is accepted by the server).
const TIME_ZONES: &[&str] = &[
    "Europe/Paris", "Europe/Brussels", "Europe/Luxembourg", "Europe/Zurich", "Europe/Monaco", "Europe/London",
    "America/Montreal", "America/Guadeloupe", "America/Martinique", "America/Cayenne", "Indian/Reunion",
    "Indian/Mayotte", "Pacific/Noumea", "Pacific/Tahiti", "UTC",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalogue {
    pub venues: Vec<VenueRecord>,
    pub events: Vec<EventRecord>,
}

#[cfg(feature = "ssr")]
pub(super) mod guard {
    use std::sync::Arc;

    use billetix_core::authorization::Actor;
    use billetix_core::domain::InstitutionId;

    use crate::error::AppError;
    use crate::ssr::storage::Storage;
    use crate::ssr::{context, session::current_actor};

    /// The caller, provided they have back-office access to `institution`.
    pub async fn backoffice_of(institution: InstitutionId) -> Result<(Arc<dyn Storage>, Actor), AppError> {
        let storage = context()?.storage;
        let actor = current_actor().await?;
        crate::ssr::guard::backoffice_of(storage.as_ref(), &actor, institution).await?;
        Ok((storage, actor))
    }

    /// The caller, provided they have back-office access to the institution of `performance`.
    pub async fn backoffice_of_performance(
        performance: billetix_core::engine::PerformanceId,
    ) -> Result<(Arc<dyn Storage>, Actor), AppError> {
        let storage = context()?.storage;
        let actor = current_actor().await?;
        crate::ssr::guard::backoffice_of_performance(storage.as_ref(), &actor, performance).await?;
        Ok((storage, actor))
    }

    /// A performance as the form gives it, checked, its times read in the venue's zone.
    pub struct PerformanceForm {
        pub label: String,
        pub starts_at: Option<i64>,
        pub window: Option<(i64, i64)>,
        pub import_end: Option<i64>,
    }

    /// A dated performance needs `starts_at`, an undated one a validity window.
    pub fn performance_form(
        zone: &str,
        label: &str,
        starts_at: Option<String>,
        valid_from: Option<String>,
        valid_to: Option<String>,
        import_end: Option<String>,
    ) -> Result<PerformanceForm, AppError> {
        let given = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let starts_at = given(starts_at).map(|v| local_time("starts_at", &v, zone)).transpose()?;
        let window = match (given(valid_from), given(valid_to)) {
            (Some(from), Some(to)) => Some((local_time("valid_from", &from, zone)?, local_time("valid_to", &to, zone)?)),
            _ => None,
        };
        if starts_at.is_none() && window.is_none() {
            return Err(AppError::InvalidInput { field: "starts_at".into(), reason: billetix_core::domain::ParseFailure::Empty });
        }
        let label = if label.trim().is_empty() && starts_at.is_some() { "—" } else { label };
        let label = billetix_core::domain::DisplayName::parse(label)?.to_string();
        let import_end = given(import_end).map(|v| local_time("import_end", &v, zone)).transpose()?;
        Ok(PerformanceForm { label, starts_at, window, import_end })
    }

    /// A `datetime-local` value ("2026-11-22T20:30") at a venue, as milliseconds since the epoch.
    pub fn local_time(field: &'static str, value: &str, zone: &str) -> Result<i64, AppError> {
        use chrono::TimeZone;
        use std::str::FromStr;
        let invalid = || AppError::InvalidInput { field: field.to_owned(), reason: billetix_core::domain::ParseFailure::BadCharacters };
        let zone = chrono_tz::Tz::from_str(zone).map_err(|_| AppError::Internal)?;
        let naive = chrono::NaiveDateTime::parse_from_str(value.trim(), "%Y-%m-%dT%H:%M").map_err(|_| invalid())?;
        // In the hour skipped by a daylight-saving change, take the earliest instant that exists.
        zone.from_local_datetime(&naive).earliest().map(|t| t.timestamp_millis()).ok_or_else(invalid)
    }
}

#[server(endpoint = "performance_grid", input = leptos::server_fn::codec::Json)]
pub async fn performance_grid(institution: InstitutionId, with_archived: bool) -> Result<Vec<GridRow>, AppError> {
    let (storage, _) = guard::backoffice_of(institution).await?;
    Ok(storage.performance_grid(institution, with_archived).await?)
}

#[server(endpoint = "show_catalogue", input = leptos::server_fn::codec::Json)]
pub async fn show_catalogue(institution: InstitutionId) -> Result<Catalogue, AppError> {
    let (storage, _) = guard::backoffice_of(institution).await?;
    Ok(Catalogue { venues: storage.venues(institution).await?, events: storage.events(institution).await? })
}

#[server(endpoint = "create_venue", input = leptos::server_fn::codec::Json)]
pub async fn create_venue(institution: InstitutionId, name: String, time_zone: String) -> Result<VenueId, AppError> {
    let (storage, _) = guard::backoffice_of(institution).await?;
    let name = billetix_core::domain::DisplayName::parse(&name)?;
    if <chrono_tz::Tz as std::str::FromStr>::from_str(&time_zone).is_err() {
        return Err(AppError::InvalidInput { field: "time_zone".into(), reason: billetix_core::domain::ParseFailure::BadCharacters });
    }
    Ok(storage.create_venue(institution, name.as_str(), &time_zone).await?)
}

#[server(endpoint = "create_event", input = leptos::server_fn::codec::Json)]
pub async fn create_event(venue: VenueId, name: String) -> Result<EventId, AppError> {
    let storage = crate::ssr::context()?.storage;
    let (institution, _) = storage.venue_institution(venue).await?.ok_or(AppError::NotFound)?;
    let (storage, _) = guard::backoffice_of(institution).await?;
    let name = billetix_core::domain::DisplayName::parse(&name)?;
    Ok(storage.create_event(venue, name.as_str()).await?)
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
    let storage = crate::ssr::context()?.storage;
    let (institution, zone) = storage.event_place(event).await?.ok_or(AppError::NotFound)?;
    let (storage, _) = guard::backoffice_of(institution).await?;
    let form = guard::performance_form(&zone, &label, starts_at, valid_from, valid_to, import_end)?;
    Ok(storage
        .create_performance(&NewPerformance {
            event,
            label: form.label,
            starts_at: form.starts_at,
            window: form.window,
            import_end: form.import_end,
        })
        .await?)
}

#[server(endpoint = "rename_venue", input = leptos::server_fn::codec::Json)]
pub async fn rename_venue(venue: VenueId, name: String) -> Result<(), AppError> {
    let storage = crate::ssr::context()?.storage;
    let (institution, _) = storage.venue_institution(venue).await?.ok_or(AppError::NotFound)?;
    let (storage, _) = guard::backoffice_of(institution).await?;
    let name = billetix_core::domain::DisplayName::parse(&name)?;
    Ok(storage.rename_venue(venue, name.as_str()).await?)
}

#[server(endpoint = "rename_event", input = leptos::server_fn::codec::Json)]
pub async fn rename_event(event: EventId, name: String) -> Result<(), AppError> {
    let storage = crate::ssr::context()?.storage;
    let (institution, _) = storage.event_place(event).await?.ok_or(AppError::NotFound)?;
    let (storage, _) = guard::backoffice_of(institution).await?;
    let name = billetix_core::domain::DisplayName::parse(&name)?;
    Ok(storage.rename_event(event, name.as_str()).await?)
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
    let storage = crate::ssr::context()?.storage;
    let context = storage.performance_contexts(&[performance]).await?.pop().ok_or(AppError::NotFound)?;
    let (storage, _) = guard::backoffice_of(context.institution).await?;
    let form = guard::performance_form(&context.time_zone, &label, starts_at, valid_from, valid_to, import_end)?;
    storage.update_performance(performance, &form.label, form.starts_at, form.window, form.import_end).await?;
    // Devices and the scan step read the validity window from the cached context.
    crate::ssr::context()?.performances.forget(performance);
    Ok(())
}

/// Ticks or unticks PDA: open or closed for scanning.
#[server(endpoint = "set_pda_open", input = leptos::server_fn::codec::Json)]
pub async fn set_pda_open(performance: PerformanceId, open: bool) -> Result<(), AppError> {
    let (storage, _) = guard::backoffice_of_performance(performance).await?;
    storage.set_pda_open(performance, open).await?;
    crate::ssr::context()?.performances.forget(performance);
    Ok(())
}

/// The categories present in a performance, and which are excluded (refused as "filtered").
#[server(endpoint = "set_archived", input = leptos::server_fn::codec::Json)]
pub async fn set_archived(performance: PerformanceId, archived: bool) -> Result<(), AppError> {
    let (storage, _) = guard::backoffice_of_performance(performance).await?;
    storage.set_archived(performance, archived).await?;
    Ok(())
}

#[server(endpoint = "category_filters", input = leptos::server_fn::codec::Json)]
pub async fn category_filters(performance: PerformanceId) -> Result<Vec<(String, bool)>, AppError> {
    let (storage, _) = guard::backoffice_of_performance(performance).await?;
    Ok(storage.performance_categories(performance).await?)
}

/// Excludes exactly `excluded` among the categories present.
#[server(endpoint = "set_category_filters", input = leptos::server_fn::codec::Json)]
pub async fn set_category_filters(performance: PerformanceId, excluded: Vec<String>) -> Result<(), AppError> {
    let (storage, _) = guard::backoffice_of_performance(performance).await?;
    storage.set_category_filters(performance, &excluded).await?;
    crate::ssr::context()?.performances.forget(performance);
    Ok(())
}

/// The category checkboxes of one performance.
#[component]
fn CategoryFilters(performance: PerformanceId, report: impl Fn(Result<(), AppError>) + Copy + Send + Sync + 'static) -> impl IntoView {
    let i18n = use_i18n();
    let version = RwSignal::new(0u32);
    let categories = Resource::new(move || version.get(), move |_| category_filters(performance));
    view! {
        <details class="filters" data-testid="filters">
            <summary>{t!(i18n, category_filters)}</summary>
            <Transition>
                {move || categories.get().and_then(|c| c.ok()).map(|list| {
                    let all = list.clone();
                    list.into_iter().map(|(category, excluded)| {
                        let all = all.clone();
                        let name = category.clone();
                        let toggle = move |ev: leptos::ev::Event| {
                            let exclude = event_target_checked(&ev);
                            let excluded: Vec<String> = all
                                .iter()
                                .filter(|(c, e)| if *c == name { exclude } else { *e })
                                .map(|(c, _)| c.clone())
                                .collect();
                            spawn_local(async move {
                                report(set_category_filters(performance, excluded).await);
                                version.update(|v| *v += 1);
                            });
                        };
                        view! {
                            <label class="check">
                                <input type="checkbox" data-category=category.clone() prop:checked=excluded on:change=toggle />
                                {t!(i18n, exclude)} " " {category}
                            </label>
                        }
                    }).collect_view()
                })}
            </Transition>
        </details>
    }
}

fn format_time(millis: Option<i64>, zone: &str) -> String {
    use std::str::FromStr;
    let (Some(millis), Ok(zone)) = (millis, chrono_tz::Tz::from_str(zone)) else { return String::new() };
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|t| t.with_timezone(&zone).format("%d/%m/%Y %H:%M").to_string())
        .unwrap_or_default()
}

/// A time as a `datetime-local` field shows it, at the venue.
fn form_time(millis: Option<i64>, zone: &str) -> String {
    use std::str::FromStr;
    let (Some(millis), Ok(zone)) = (millis, chrono_tz::Tz::from_str(zone)) else { return String::new() };
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|t| t.with_timezone(&zone).format("%Y-%m-%dT%H:%M").to_string())
        .unwrap_or_default()
}

/// Refetches the grid whenever a scan of one of its performances is recorded: one feed for
/// each `LIVE_MAX_PERFORMANCES` of them.
fn follow_live(performances: Vec<PerformanceId>, on_scan: impl Fn() + Clone + 'static) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        use wasm_bindgen::closure::Closure;
        for chunk in performances.chunks(crate::sync::protocol::LIVE_MAX_PERFORMANCES) {
            let ids: Vec<String> = chunk.iter().map(|p| p.to_string()).collect();
            let Ok(source) = web_sys::EventSource::new(&format!("/live?performances={}", ids.join(","))) else { return };
            let on_scan = on_scan.clone();
            let callback = Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |_: web_sys::MessageEvent| on_scan());
            let _ = source.add_event_listener_with_callback("scan", callback.as_ref().unchecked_ref());
            callback.forget();
            let source = send_wrapper::SendWrapper::new(source);
            on_cleanup(move || source.close());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (performances, on_scan);
    }
}

#[component]
pub fn PerformanceGrid(institution: InstitutionId) -> impl IntoView {
    let i18n = use_i18n();
    let version = RwSignal::new(0u32);
    let with_archived = RwSignal::new(false);
    let venue_filter = RwSignal::new(String::new());
    let grid = Resource::new(move || (version.get(), with_archived.get()), move |(_, archived)| performance_grid(institution, archived));
    let catalogue = Resource::new(move || version.get(), move |_| show_catalogue(institution));
    let (error, set_error) = signal(None::<AppError>);
    let refresh = move || version.update(|v| *v += 1);
    let report = move |result: Result<(), AppError>| match result {
        Ok(()) => {
            set_error.set(None);
            refresh();
        }
        Err(e) => set_error.set(Some(e)),
    };

    // Live counters: follow the scans of the performances shown, refetching at most twice a
    // second however busy the doors are.
    let shown = Memo::new(move |_| {
        grid.get().and_then(|r| r.ok()).map(|rows| rows.iter().map(|r| r.performance).collect::<Vec<_>>()).unwrap_or_default()
    });
    let refetch_pending = RwSignal::new(false);
    Effect::new(move || {
        follow_live(shown.get(), move || {
            if !refetch_pending.get_untracked() {
                refetch_pending.set(true);
                set_timeout(
                    move || {
                        refetch_pending.set(false);
                        grid.refetch();
                    },
                    std::time::Duration::from_millis(500),
                );
            }
        });
    });

    let open_panels = RwSignal::new(std::collections::HashSet::<PerformanceId>::new());
    let venue_name = RwSignal::new(String::new());
    let venue_zone = RwSignal::new("Europe/Paris".to_owned());
    let event_venue = RwSignal::new(String::new());
    let event_name = RwSignal::new(String::new());
    let performance_event = RwSignal::new(String::new());
    let performance_label = RwSignal::new(String::new());
    let performance_start = RwSignal::new(String::new());
    let performance_import_end = RwSignal::new(String::new());
    let performance_undated = RwSignal::new(false);
    let performance_from = RwSignal::new(String::new());
    let performance_to = RwSignal::new(String::new());
    // The performance the form edits; `None`: the form adds one.
    let editing = RwSignal::new(None::<PerformanceId>);
    let renamed = RwSignal::new(String::new());
    let new_name = RwSignal::new(String::new());

    let add_venue = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        spawn_local(async move {
            report(create_venue(institution, venue_name.get_untracked(), venue_zone.get_untracked()).await.map(|_| ()));
        });
    };
    let add_event = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Ok(venue) = event_venue.get_untracked().parse::<i64>() else { return };
        spawn_local(async move { report(create_event(VenueId(venue), event_name.get_untracked()).await.map(|_| ())) });
    };
    let rename = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let target = renamed.get_untracked();
        let name = new_name.get_untracked();
        spawn_local(async move {
            let done = match target.split_once(':').map(|(kind, id)| (kind, id.parse::<i64>())) {
                Some(("venue", Ok(id))) => rename_venue(VenueId(id), name).await,
                Some(("event", Ok(id))) => rename_event(EventId(id), name).await,
                _ => return,
            };
            report(done);
        });
    };
    let add_performance = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let edited = editing.get_untracked();
        let event = performance_event.get_untracked().parse::<i64>();
        if edited.is_none() && event.is_err() {
            return;
        }
        spawn_local(async move {
            let undated = performance_undated.get_untracked();
            let label = performance_label.get_untracked();
            let starts_at = (!undated).then(|| performance_start.get_untracked());
            let valid_from = undated.then(|| performance_from.get_untracked());
            let valid_to = undated.then(|| performance_to.get_untracked());
            let import_end = Some(performance_import_end.get_untracked());
            let done = match (edited, event) {
                (Some(performance), _) => update_performance(performance, label, starts_at, valid_from, valid_to, import_end).await,
                (None, Ok(event)) => create_performance(EventId(event), label, starts_at, valid_from, valid_to, import_end).await.map(|_| ()),
                (None, Err(_)) => return,
            };
            if done.is_ok() {
                editing.set(None);
            }
            report(done);
        });
    };

    let row_view = move |row: GridRow| {
        let performance = row.performance;
        let gauge = (row.admitted * 100).checked_div(row.total).unwrap_or(0);
        let date = match row.window {
            Some((from, to)) => format!("{} → {}", format_time(Some(from), &row.time_zone), format_time(Some(to), &row.time_zone)),
            None => format_time(row.starts_at, &row.time_zone),
        };
        let toggle = move |ev: leptos::ev::Event| {
            let open = event_target_checked(&ev);
            spawn_local(async move { report(set_pda_open(performance, open).await) });
        };
        let archived = row.archived;
        let archive = move |_| spawn_local(async move { report(set_archived(performance, !archived).await) });
        let edit = {
            let row = row.clone();
            move |_| {
                let local = |millis: Option<i64>| form_time(millis, &row.time_zone);
                performance_label.set(if row.label == "—" { String::new() } else { row.label.clone() });
                performance_undated.set(row.window.is_some());
                performance_start.set(local(row.starts_at));
                performance_from.set(local(row.window.map(|w| w.0)));
                performance_to.set(local(row.window.map(|w| w.1)));
                performance_import_end.set(local(row.import_end));
                editing.set(Some(performance));
            }
        };
        view! {
            <tr data-performance=performance.to_string() data-venue=row.venue.clone() class:archived=archived>
                <td>{row.event.clone()} <small class="muted">{row.venue.clone()} " · " {row.label.clone()}</small></td>
                <td>{date}</td>
                <td>{format_time(row.import_end, &row.time_zone)}</td>
                <td><progress max="100" value=gauge.to_string()></progress> " " {gauge} "%"</td>
                <td data-testid="counter">{row.admitted} " / " {row.total}</td>
                <td><input type="checkbox" data-testid="pda" prop:checked=row.pda_open on:change=toggle /></td>
                <td>
                    <button type="button" class="link" data-testid="edit" on:click=edit>{t!(i18n, edit)}</button>
                    <button type="button" class="link" data-testid="archive" on:click=archive>
                        {if archived { t!(i18n, unarchive).into_any() } else { t!(i18n, archive).into_any() }}
                    </button>
                    <CategoryFilters performance report />
                    <super::sources::PerformanceSourcesPanel performance open_panels changed=Callback::new(move |()| refresh()) />
                    <super::reports::ReportLink performance />
                </td>
            </tr>
        }
    };

    view! {
        <section data-testid="performance-grid-section">
            <ErrorLine error />
            <div class="toolbar">
                <label>{t!(i18n, filter_by_venue)} " "
                    <select on:change=move |ev| venue_filter.set(event_target_value(&ev))>
                        <option value="">{t!(i18n, all_venues)}</option>
                        <Transition>
                            {move || catalogue.get().and_then(|c| c.ok()).map(|c| c.venues.into_iter().map(|v| view! {
                                <option value=v.name.clone()>{v.name.clone()}</option>
                            }).collect_view())}
                        </Transition>
                    </select>
                </label>
                <label class="check"><input type="checkbox" on:change=move |ev| with_archived.set(event_target_checked(&ev)) />
                    {t!(i18n, show_archived)}</label>
            </div>
            <table class="grid" data-testid="performance-grid">
                <thead><tr>
                    <th>{t!(i18n, col_event)}</th><th>{t!(i18n, col_date)}</th><th>{t!(i18n, col_import_end)}</th>
                    <th>{t!(i18n, col_gauge)}</th><th>{t!(i18n, col_counter)}</th><th>"PDA"</th><th></th>
                </tr></thead>
                <tbody>
                    <Transition>
                        {move || grid.get().map(|result| match result {
                            Ok(rows) if rows.is_empty() => view! {
                                <tr><td colspan="7" class="empty">{t!(i18n, no_performances)}</td></tr>
                            }.into_any(),
                            Ok(rows) => {
                                let filter = venue_filter.get();
                                rows.into_iter().filter(|r| filter.is_empty() || r.venue == filter).map(row_view).collect_view().into_any()
                            }
                            Err(e) => { set_error.set(Some(e)); ().into_any() }
                        })}
                    </Transition>
                </tbody>
            </table>
            <div class="cards">
                <super::automatic::AutomaticCreation institution created=Callback::new(move |()| refresh()) />
                <form class="card" on:submit=add_venue data-testid="venue-form">
                    <h3>{t!(i18n, add_venue)}</h3>
                    <input name="venue-name" placeholder=move || t_string!(i18n, field_name) prop:value=venue_name
                        on:input=move |ev| venue_name.set(event_target_value(&ev)) />
                    <select name="venue-zone" on:change=move |ev| venue_zone.set(event_target_value(&ev))>
                        {TIME_ZONES.iter().map(|z| view! { <option value=*z selected=*z == "Europe/Paris">{*z}</option> }).collect_view()}
                    </select>
                    <button type="submit">{t!(i18n, add_venue)}</button>
                </form>
                <form class="card" on:submit=add_event data-testid="event-form">
                    <h3>{t!(i18n, add_event)}</h3>
                    <select name="event-venue" on:change=move |ev| event_venue.set(event_target_value(&ev))>
                        <option value="">{t!(i18n, choose_venue)}</option>
                        <Transition>
                            {move || catalogue.get().and_then(|c| c.ok()).map(|c| c.venues.into_iter().map(|v| view! {
                                <option value=v.id.to_string()>{v.name.clone()}</option>
                            }).collect_view())}
                        </Transition>
                    </select>
                    <input name="event-name" placeholder=move || t_string!(i18n, field_name) prop:value=event_name
                        on:input=move |ev| event_name.set(event_target_value(&ev)) />
                    <button type="submit">{t!(i18n, add_event)}</button>
                </form>
                <form class="card" on:submit=rename data-testid="rename-form">
                    <h3>{t!(i18n, rename)}</h3>
                    <select name="renamed" on:change=move |ev| renamed.set(event_target_value(&ev))>
                        <option value="">{t!(i18n, choose_venue_or_event)}</option>
                        <Transition>
                            {move || catalogue.get().and_then(|c| c.ok()).map(|c| {
                                let venues = c.venues.into_iter().map(|v| view! {
                                    <option value=format!("venue:{}", v.id)>{v.name.clone()}</option>
                                }).collect_view();
                                let events = c.events.into_iter().map(|e| view! {
                                    <option value=format!("event:{}", e.id)>{e.name.clone()}</option>
                                }).collect_view();
                                (venues, events)
                            })}
                        </Transition>
                    </select>
                    <input name="new-name" placeholder=move || t_string!(i18n, field_name) prop:value=new_name
                        on:input=move |ev| new_name.set(event_target_value(&ev)) />
                    <button type="submit">{t!(i18n, rename)}</button>
                </form>
                <form class="card" on:submit=add_performance data-testid="performance-form">
                    <h3>{move || if editing.get().is_some() { t!(i18n, edit).into_any() } else { t!(i18n, add_performance).into_any() }}</h3>
                    <Show when=move || editing.get().is_none()>
                        <select name="performance-event" on:change=move |ev| performance_event.set(event_target_value(&ev))>
                            <option value="">{t!(i18n, choose_event)}</option>
                            <Transition>
                                {move || catalogue.get().and_then(|c| c.ok()).map(|c| c.events.into_iter().map(|e| view! {
                                    <option value=e.id.to_string() selected=performance_event.get_untracked() == e.id.to_string()>{e.name.clone()}</option>
                                }).collect_view())}
                            </Transition>
                        </select>
                    </Show>
                    <input name="performance-label" placeholder=move || t_string!(i18n, field_label) prop:value=performance_label
                        on:input=move |ev| performance_label.set(event_target_value(&ev)) />
                    <label class="check"><input type="checkbox" name="performance-undated" prop:checked=performance_undated
                        on:change=move |ev| performance_undated.set(event_target_checked(&ev)) /> {t!(i18n, undated)}</label>
                    <Show when=move || !performance_undated.get()>
                        <label>{t!(i18n, col_date)} " "
                            <input name="performance-start" type="datetime-local" prop:value=performance_start
                                on:input=move |ev| performance_start.set(event_target_value(&ev)) /></label>
                    </Show>
                    <Show when=move || performance_undated.get()>
                        <label>{t!(i18n, valid_from)} " "
                            <input name="performance-from" type="datetime-local" prop:value=performance_from
                                on:input=move |ev| performance_from.set(event_target_value(&ev)) /></label>
                        <label>{t!(i18n, valid_to)} " "
                            <input name="performance-to" type="datetime-local" prop:value=performance_to
                                on:input=move |ev| performance_to.set(event_target_value(&ev)) /></label>
                    </Show>
                    <label>{t!(i18n, col_import_end)} " "
                        <input name="performance-import-end" type="datetime-local" prop:value=performance_import_end
                            on:input=move |ev| performance_import_end.set(event_target_value(&ev)) /></label>
                    <Show when=move || editing.get().is_some() fallback=move || view! {
                        <button type="submit">{t!(i18n, add_performance)}</button>
                    }>
                        <button type="submit">{t!(i18n, save)}</button>
                        <button type="button" on:click=move |_| editing.set(None)>{t!(i18n, cancel)}</button>
                    </Show>
                </form>
            </div>
        </section>
    }
}
