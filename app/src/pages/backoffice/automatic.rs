//! Automatic performance creation (SPEC §3): for sources that can list their events, the
//! dates not yet present, as venue → event → date; the chosen ones are created with the
//! source's venue and event names, the source attached, and their tickets imported.

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::{Deserialize, Serialize};

use billetix_core::domain::{InstitutionId, PartnerEvent, SourceId, VenueZone};

use crate::components::error_text::{ErrorLine, fill};
use crate::error::AppError;
use crate::i18n::*;
#[cfg(feature = "ssr")]
use crate::ssr::access::Backoffice;

/// The attachment option naming the partner's event, for every kind that lists events.
#[cfg(feature = "ssr")]
const EVENT_OPTION: &str = "event_id";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceEvents {
    pub source: SourceId,
    pub source_name: String,
    /// Events with a date not yet created from this source.
    pub events: Vec<PartnerEvent>,
}

#[server(endpoint = "partner_events", input = leptos::server_fn::codec::Json)]
pub async fn partner_events(institution: InstitutionId) -> Result<Vec<SourceEvents>, AppError> {
    let context = Backoffice::of_institution(institution).await?.context;
    let mut answer = Vec::new();
    for source in context.storage.sources(institution).await?.into_iter().filter(|s| s.kind.lists_events()) {
        let present: Vec<String> = context
            .storage
            .performances_of_source(source.id)
            .await?
            .into_iter()
            .filter_map(|options| options.get(EVENT_OPTION).cloned())
            .collect();
        let events = context.sources.list_events(&source).await?;
        let now = crate::ssr::now_millis();
        let events = events
            .into_iter()
            .filter(|e| !present.contains(&e.id) && e.starts_at.is_some_and(|t| t > now))
            .collect();
        answer.push(SourceEvents { source: source.id, source_name: source.name, events });
    }
    Ok(answer)
}

/// Events the running listing has read so far, for its progress line.
#[server(endpoint = "partner_events_progress", input = leptos::server_fn::codec::Json)]
pub async fn partner_events_progress(institution: InstitutionId) -> Result<u64, AppError> {
    let context = Backoffice::of_institution(institution).await?.context;
    Ok(context.storage.events_listed(institution).await?)
}

/// Creates the chosen events' performances (venue and event found by name or created), attaches
/// the source with the partner's event and asks for their import.
#[server(endpoint = "create_from_partner", input = leptos::server_fn::codec::Json)]
pub async fn create_from_partner(institution: InstitutionId, source: SourceId, events: Vec<PartnerEvent>) -> Result<u32, AppError> {
    use billetix_core::domain::{DisplayName, VenueZone};

    use crate::ssr::now_millis;
    use crate::ssr::storage::NewPerformance;
    let office = Backoffice::of_institution(institution).await?;
    let record = office.source(source).await?;
    let (context, storage) = (&office.context, office.storage());
    let mut created = 0;
    for event in events {
        let venue_name = DisplayName::parse(&event.venue)?;
        let event_name = DisplayName::parse(&event.name)?;
        let zone = VenueZone::or_default(event.time_zone.as_deref());
        let venue = match storage.venues(institution).await?.into_iter().find(|v| v.name == venue_name.as_str()) {
            Some(v) => v.id,
            None => storage.create_venue(institution, venue_name.as_str(), zone.name()).await?,
        };
        let show = match storage.events(institution).await?.into_iter().find(|e| e.venue == venue && e.name == event_name.as_str()) {
            Some(e) => e.id,
            None => storage.create_event(venue, event_name.as_str()).await?,
        };
        let performance = storage
            .create_performance(&NewPerformance { event: show, label: String::new(), starts_at: event.starts_at, window: None, import_end: None })
            .await?;
        let options = [(EVENT_OPTION.to_owned(), event.id.clone())].into();
        context.sources.check_options(&record, &options)?;
        storage.attach_source(performance, source, &options, now_millis()).await?;
        created += 1;
    }
    context.sources.wake_scheduler();
    Ok(created)
}

/// A partner's date at its venue (metropolitan France when the partner does not say).
fn date_text(millis: Option<i64>, zone: Option<&str>) -> String {
    millis.map(|millis| VenueZone::or_default(zone).show(millis)).unwrap_or_default()
}

#[component]
pub fn AutomaticCreation(institution: InstitutionId, created: Callback<()>) -> impl IntoView {
    let i18n = use_i18n();
    let asked = RwSignal::new(false);
    // Events read so far while a listing runs (a partner may take many pages).
    let listed = RwSignal::new(None::<u64>);
    let listing = Resource::new(move || asked.get(), move |asked| async move {
        if !asked {
            return Ok(None);
        }
        listed.set(Some(0));
        let answer = partner_events(institution).await.map(Some);
        listed.set(None);
        answer
    });
    follow_progress(institution, listed);
    let chosen = RwSignal::new(Vec::<(SourceId, PartnerEvent)>::new());
    let (error, set_error) = signal(None::<AppError>);
    // One call per source, in turn; the first refusal stops them.
    let create = Action::new(move |picked: &Vec<(SourceId, PartnerEvent)>| {
        let mut by_source: BTreeMap<SourceId, Vec<PartnerEvent>> = BTreeMap::new();
        for (source, event) in picked.iter().cloned() {
            by_source.entry(source).or_default().push(event);
        }
        async move {
            for (source, events) in by_source {
                create_from_partner(institution, source, events).await?;
            }
            Ok::<_, AppError>(())
        }
    });
    Effect::new(move || match create.value().get() {
        Some(Ok(())) => {
            set_error.set(None);
            chosen.set(Vec::new());
            listing.refetch();
            created.run(());
        }
        Some(Err(e)) => set_error.set(Some(e)),
        None => {}
    });
    view! {
        <div class="card" data-testid="automatic-creation">
            <h3>{t!(i18n, automatic_creation)}</h3>
            <button type="button" data-testid="list-partner-events" on:click=move |_| { asked.set(true); listing.refetch(); }>
                {t!(i18n, list_partner_events)}
            </button>
            <ErrorLine error />
            {move || listed.get().map(|seen| view! {
                <p data-testid="listing-progress"><progress></progress> " " {fill(t_string!(i18n, events_read), &[("count", &seen.to_string())])}</p>
            })}
            <Transition fallback=|| ()>
                {move || listing.get().map(|r| match r {
                    Ok(Some(sources)) => sources.into_iter().map(|s| view! { <PartnerEventTree events=s chosen /> }).collect_view().into_any(),
                    Ok(None) => ().into_any(),
                    Err(e) => { set_error.set(Some(e)); ().into_any() }
                })}
            </Transition>
            <button type="button" data-testid="create-from-partner" on:click=move |_| { create.dispatch(chosen.get_untracked()); }
                disabled=move || chosen.with(Vec::is_empty)>
                {t!(i18n, create_selected)}
            </button>
        </div>
    }
}

/// While a listing runs (`listed` is some), asks twice a second how many events it has read.
fn follow_progress(institution: InstitutionId, listed: RwSignal<Option<u64>>) {
    Effect::new(move || {
        if listed.get().is_some() {
            set_timeout(
                move || {
                    spawn_local(async move {
                        // Another tab may have closed this card, and its signal with it, since.
                        if let Ok(seen) = partner_events_progress(institution).await
                            && listed.try_get_untracked().flatten().is_some()
                        {
                            listed.set(Some(seen));
                        }
                    })
                },
                std::time::Duration::from_millis(500),
            );
        }
    });
}

/// One source's new dates as venue → event → date, each with a box that adds it to `chosen`.
#[component]
fn PartnerEventTree(events: SourceEvents, chosen: RwSignal<Vec<(SourceId, PartnerEvent)>>) -> impl IntoView {
    let mut tree: BTreeMap<String, BTreeMap<String, Vec<PartnerEvent>>> = BTreeMap::new();
    for event in events.events {
        tree.entry(event.venue.clone()).or_default().entry(event.name.clone()).or_default().push(event);
    }
    let source = events.source;
    let date_box = move |event: PartnerEvent| {
        let label = date_text(event.starts_at, event.time_zone.as_deref());
        let id = event.id.clone();
        view! {
            <li><label class="check"><input type="checkbox" data-partner-event=id
                on:change=move |ev| {
                    let on = event_target_checked(&ev);
                    let event = event.clone();
                    chosen.update(|c| {
                        c.retain(|(_, e)| e.id != event.id);
                        if on { c.push((source, event)); }
                    });
                } /> {label}</label></li>
        }
    };
    view! {
        <details open>
            <summary>{events.source_name}</summary>
            <ul class="tree">{tree.into_iter().map(|(venue, events)| view! {
                <li>{venue}<ul>{events.into_iter().map(|(name, dates)| view! {
                    <li>{name}<ul>{dates.into_iter().map(date_box).collect_view()}</ul></li>
                }).collect_view()}</ul></li>
            }).collect_view()}</ul>
        </details>
    }
}
