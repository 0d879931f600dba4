//! The card that adds a venue, with its time zone.

use leptos::prelude::*;

use billetix_core::domain::InstitutionId;

use super::api::CreateVenue;
use crate::i18n::*;

/// Time zones offered for a venue (any IANA name is accepted by the server).
const TIME_ZONES: &[&str] = &[
    "Europe/Paris", "Europe/Brussels", "Europe/Luxembourg", "Europe/Zurich", "Europe/Monaco", "Europe/London",
    "America/Montreal", "America/Guadeloupe", "America/Martinique", "America/Cayenne", "Indian/Reunion",
    "Indian/Mayotte", "Pacific/Noumea", "Pacific/Tahiti", "UTC",
];

#[component]
pub(super) fn VenueForm(institution: InstitutionId, action: ServerAction<CreateVenue>) -> impl IntoView {
    let i18n = use_i18n();
    let name = RwSignal::new(String::new());
    let zone = RwSignal::new("Europe/Paris".to_owned());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        action.dispatch(CreateVenue { institution, name: name.get_untracked(), time_zone: zone.get_untracked() });
    };
    view! {
        <form class="card" on:submit=submit data-testid="venue-form">
            <h3>{t!(i18n, add_venue)}</h3>
            <input name="venue-name" placeholder=move || t_string!(i18n, field_name) prop:value=name
                on:input=move |ev| name.set(event_target_value(&ev)) />
            <select name="venue-zone" on:change=move |ev| zone.set(event_target_value(&ev))>
                {TIME_ZONES.iter().map(|z| view! { <option value=*z selected=*z == "Europe/Paris">{*z}</option> }).collect_view()}
            </select>
            <button type="submit">{t!(i18n, add_venue)}</button>
        </form>
    }
}
