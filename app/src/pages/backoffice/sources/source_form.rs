//! The add / edit form of a source: its kind, name, the kind's fields and, for web services,
//! the refresh periods.

use leptos::prelude::*;

use billetix_core::domain::{InstitutionId, RefreshPeriods, SourceKind, SourceView};

use super::api::SaveSource;
use super::fields::{field_inputs, kind_title};
use crate::components::answers::{on_success, show_answers};
use crate::components::error_text::ErrorLine;
use crate::error::AppError;
use crate::i18n::*;

#[component]
pub(super) fn SourceForm(institution: InstitutionId, editing: Option<SourceView>, done: Callback<()>) -> impl IntoView {
    let i18n = use_i18n();
    let source = editing.as_ref().map(|s| s.id);
    let kind = RwSignal::new(editing.as_ref().map_or(SourceKind::File, |s| s.kind));
    let name = RwSignal::new(editing.as_ref().map(|s| s.name.clone()).unwrap_or_default());
    let values = RwSignal::new(editing.as_ref().map(|s| s.settings.clone()).unwrap_or_default());
    let periods = editing.as_ref().map(|s| s.periods).unwrap_or_default();
    let long = RwSignal::new(periods.long_minutes.to_string());
    let short = RwSignal::new(periods.short_minutes.to_string());
    let window = RwSignal::new(periods.short_window_hours.to_string());
    let secrets_set = editing.as_ref().map(|s| s.secrets_set.clone()).unwrap_or_default();
    let (error, set_error) = signal(None::<AppError>);
    let save = ServerAction::<SaveSource>::new();
    show_answers(save, set_error);
    on_success(save, move |_| done.run(()));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let kind = kind.get_untracked();
        let (settings, secrets) = kind.split_secrets(values.get_untracked());
        let periods = RefreshPeriods::from_form(&long.get_untracked(), &short.get_untracked(), &window.get_untracked());
        save.dispatch(SaveSource { institution, source, kind, name: name.get_untracked(), settings, secrets, periods });
    };
    view! {
        <form class="card source-form" on:submit=submit data-testid="source-form">
            <h3>{if source.is_some() { t!(i18n, edit).into_any() } else { t!(i18n, add_source).into_any() }}</h3>
            <label class="field">{t!(i18n, source_kind)} " "
                <select name="kind" disabled=source.is_some()
                    on:change=move |ev| if let Some(k) = SourceKind::parse(&event_target_value(&ev)) { kind.set(k) }>
                    {SourceKind::ALL.iter().map(|k| view! {
                        <option value=k.code() selected=move || kind.get() == *k>{kind_title(i18n, *k)}</option>
                    }).collect_view()}
                </select>
            </label>
            <label class="field">{t!(i18n, source_name)} " "
                <input name="source-name" prop:value=name on:input=move |ev| name.set(event_target_value(&ev)) /></label>
            {move || field_inputs(kind.get().fields(), values, secrets_set.clone())}
            <Show when=move || !kind.get().is_file()>
                <label class="field">{t!(i18n, long_period)} " " <NumberInput name="long-period" value=long /></label>
                <label class="field">{t!(i18n, short_period)} " " <NumberInput name="short-period" value=short /></label>
                <label class="field">{t!(i18n, short_window)} " " <NumberInput name="short-window" value=window /></label>
            </Show>
            <ErrorLine error />
            <button type="submit">{t!(i18n, save)}</button>
            <button type="button" on:click=move |_| done.run(())>{t!(i18n, cancel)}</button>
        </form>
    }
}

#[component]
fn NumberInput(name: &'static str, value: RwSignal<String>) -> impl IntoView {
    view! { <input name=name inputmode="numeric" prop:value=value on:input=move |ev| value.set(event_target_value(&ev)) /> }
}
