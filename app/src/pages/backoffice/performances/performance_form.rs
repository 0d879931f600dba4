//! The card that adds a performance, or edits the one whose edit button was pressed: dated
//! (a start) or undated (a validity window), with an import end; times at the venue.

use leptos::prelude::*;

use billetix_core::domain::{EventId, GridRow, VenueZone};
use billetix_core::engine::PerformanceId;

use super::api::{Catalogue, CreatePerformance, UpdatePerformance};
use crate::components::answers::on_success;
use crate::error::AppError;
use crate::i18n::*;

/// The form's fields as typed; the grid's edit buttons fill them.
#[derive(Clone, Copy)]
pub(super) struct Draft {
    /// The performance edited; `None`: the form adds one.
    editing: RwSignal<Option<PerformanceId>>,
    event: RwSignal<String>,
    label: RwSignal<String>,
    undated: RwSignal<bool>,
    start: RwSignal<String>,
    from: RwSignal<String>,
    to: RwSignal<String>,
    import_end: RwSignal<String>,
}

impl Draft {
    pub fn new() -> Self {
        Self {
            editing: RwSignal::new(None),
            event: RwSignal::new(String::new()),
            label: RwSignal::new(String::new()),
            undated: RwSignal::new(false),
            start: RwSignal::new(String::new()),
            from: RwSignal::new(String::new()),
            to: RwSignal::new(String::new()),
            import_end: RwSignal::new(String::new()),
        }
    }

    /// Fills the form with a line of the grid, its times as the venue's clock shows them.
    pub fn edit(&self, row: &GridRow) {
        let zone = VenueZone::parse(&row.time_zone).ok();
        let local = |millis: Option<i64>| zone.zip(millis).map(|(zone, millis)| zone.form_value(millis)).unwrap_or_default();
        self.label.set(if row.label == "—" { String::new() } else { row.label.clone() });
        self.undated.set(row.window.is_some());
        self.start.set(local(row.starts_at));
        self.from.set(local(row.window.map(|w| w.0)));
        self.to.set(local(row.window.map(|w| w.1)));
        self.import_end.set(local(row.import_end));
        self.editing.set(Some(row.performance));
    }

    /// Sends the form: an update when editing, else a new performance of the chosen event.
    fn submit(&self, create: ServerAction<CreatePerformance>, update: ServerAction<UpdatePerformance>) {
        let undated = self.undated.get_untracked();
        let label = self.label.get_untracked();
        let starts_at = (!undated).then(|| self.start.get_untracked());
        let valid_from = undated.then(|| self.from.get_untracked());
        let valid_to = undated.then(|| self.to.get_untracked());
        let import_end = Some(self.import_end.get_untracked());
        match (self.editing.get_untracked(), self.event.get_untracked().parse::<i64>()) {
            (Some(performance), _) => {
                update.dispatch(UpdatePerformance { performance, label, starts_at, valid_from, valid_to, import_end });
            }
            (None, Ok(event)) => {
                create.dispatch(CreatePerformance { event: EventId(event), label, starts_at, valid_from, valid_to, import_end });
            }
            (None, Err(_)) => {}
        }
    }
}

#[component]
pub(super) fn PerformanceEditor(
    catalogue: Resource<Result<Catalogue, AppError>>,
    draft: Draft,
    create: ServerAction<CreatePerformance>,
    update: ServerAction<UpdatePerformance>,
) -> impl IntoView {
    let i18n = use_i18n();
    on_success(update, move |_| draft.editing.set(None));
    let editing = move || draft.editing.get().is_some();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        draft.submit(create, update);
    };
    view! {
        <form class="card" on:submit=submit data-testid="performance-form">
            <h3>{move || if editing() { t!(i18n, edit).into_any() } else { t!(i18n, add_performance).into_any() }}</h3>
            <Show when=move || !editing()>
                <EventChoice catalogue event=draft.event />
            </Show>
            <input name="performance-label" placeholder=move || t_string!(i18n, field_label) prop:value=draft.label
                on:input=move |ev| draft.label.set(event_target_value(&ev)) />
            <label class="check"><input type="checkbox" name="performance-undated" prop:checked=draft.undated
                on:change=move |ev| draft.undated.set(event_target_checked(&ev)) /> {t!(i18n, undated)}</label>
            <Show when=move || !draft.undated.get()>
                <label>{t!(i18n, col_date)} " " <TimeInput name="performance-start" value=draft.start /></label>
            </Show>
            <Show when=move || draft.undated.get()>
                <label>{t!(i18n, valid_from)} " " <TimeInput name="performance-from" value=draft.from /></label>
                <label>{t!(i18n, valid_to)} " " <TimeInput name="performance-to" value=draft.to /></label>
            </Show>
            <label>{t!(i18n, col_import_end)} " " <TimeInput name="performance-import-end" value=draft.import_end /></label>
            <Show when=editing fallback=move || view! { <button type="submit">{t!(i18n, add_performance)}</button> }>
                <button type="submit">{t!(i18n, save)}</button>
                <button type="button" on:click=move |_| draft.editing.set(None)>{t!(i18n, cancel)}</button>
            </Show>
        </form>
    }
}

/// The event a new performance belongs to.
#[component]
fn EventChoice(catalogue: Resource<Result<Catalogue, AppError>>, event: RwSignal<String>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <select name="performance-event" on:change=move |ev| event.set(event_target_value(&ev))>
            <option value="">{t!(i18n, choose_event)}</option>
            <Transition>
                {move || catalogue.get().and_then(|c| c.ok()).map(|c| c.events.into_iter().map(|e| view! {
                    <option value=e.id.to_string() selected=event.get_untracked() == e.id.to_string()>{e.name.clone()}</option>
                }).collect_view())}
            </Transition>
        </select>
    }
}

/// A `datetime-local` field bound to `value`.
#[component]
fn TimeInput(name: &'static str, value: RwSignal<String>) -> impl IntoView {
    view! { <input name=name type="datetime-local" prop:value=value on:input=move |ev| value.set(event_target_value(&ev)) /> }
}
