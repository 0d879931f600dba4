//! The card that adds an event to a venue.

use leptos::prelude::*;

use billetix_core::domain::VenueId;

use super::api::{Catalogue, CreateEvent};
use crate::error::AppError;
use crate::i18n::*;

#[component]
pub(super) fn EventForm(catalogue: Resource<Result<Catalogue, AppError>>, action: ServerAction<CreateEvent>) -> impl IntoView {
    let i18n = use_i18n();
    let venue = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Ok(venue) = venue.get_untracked().parse::<i64>() else { return };
        action.dispatch(CreateEvent { venue: VenueId(venue), name: name.get_untracked() });
    };
    view! {
        <form class="card" on:submit=submit data-testid="event-form">
            <h3>{t!(i18n, add_event)}</h3>
            <select name="event-venue" on:change=move |ev| venue.set(event_target_value(&ev))>
                <option value="">{t!(i18n, choose_venue)}</option>
                <Transition>
                    {move || catalogue.get().and_then(|c| c.ok()).map(|c| c.venues.into_iter().map(|v| view! {
                        <option value=v.id.to_string()>{v.name.clone()}</option>
                    }).collect_view())}
                </Transition>
            </select>
            <input name="event-name" placeholder=move || t_string!(i18n, field_name) prop:value=name
                on:input=move |ev| name.set(event_target_value(&ev)) />
            <button type="submit">{t!(i18n, add_event)}</button>
        </form>
    }
}
