//! The card that renames a venue or an event.

use leptos::prelude::*;

use billetix_core::domain::{EventId, VenueId};

use super::api::{Catalogue, RenameEvent, RenameVenue};
use crate::error::AppError;
use crate::i18n::*;

/// What the select names: `venue:12` or `event:34`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Renamed {
    Venue(VenueId),
    Event(EventId),
}

impl Renamed {
    fn parse(value: &str) -> Option<Self> {
        let (kind, id) = value.split_once(':')?;
        let id = id.parse::<i64>().ok()?;
        match kind {
            "venue" => Some(Self::Venue(VenueId(id))),
            "event" => Some(Self::Event(EventId(id))),
            _ => None,
        }
    }
}

#[component]
pub(super) fn RenameForm(
    catalogue: Resource<Result<Catalogue, AppError>>,
    venue: ServerAction<RenameVenue>,
    event: ServerAction<RenameEvent>,
) -> impl IntoView {
    let i18n = use_i18n();
    let renamed = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let name = name.get_untracked();
        match Renamed::parse(&renamed.get_untracked()) {
            Some(Renamed::Venue(id)) => {
                venue.dispatch(RenameVenue { venue: id, name });
            }
            Some(Renamed::Event(id)) => {
                event.dispatch(RenameEvent { event: id, name });
            }
            None => {}
        }
    };
    view! {
        <form class="card" on:submit=submit data-testid="rename-form">
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
            <input name="new-name" placeholder=move || t_string!(i18n, field_name) prop:value=name
                on:input=move |ev| name.set(event_target_value(&ev)) />
            <button type="submit">{t!(i18n, rename)}</button>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_select_names_a_venue_or_an_event() {
        assert_eq!(Renamed::parse("venue:12"), Some(Renamed::Venue(VenueId(12))));
        assert_eq!(Renamed::parse("event:34"), Some(Renamed::Event(EventId(34))));
        assert_eq!(Renamed::parse(""), None);
        assert_eq!(Renamed::parse("event:x"), None);
        assert_eq!(Renamed::parse("door:1"), None);
    }
}
