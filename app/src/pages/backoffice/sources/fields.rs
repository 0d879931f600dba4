//! A source kind's fields as form inputs, and the labels of kinds and fields in the page's
//! language.

use leptos::prelude::*;

use billetix_core::domain::{FieldSpec, FieldType, FieldValues, SourceKind};

use crate::i18n::*;

pub(super) fn label(i18n: leptos_i18n::I18nContext<Locale>, field: &FieldSpec) -> &'static str {
    if i18n.get_locale() == Locale::fr { field.label_fr } else { field.label_en }
}

pub(super) fn kind_title(i18n: leptos_i18n::I18nContext<Locale>, kind: SourceKind) -> &'static str {
    if i18n.get_locale() == Locale::fr { kind.title_fr() } else { kind.title() }
}

/// Inputs for a list of fields, bound to `values`; `secrets_set` shows which secrets are kept.
pub(super) fn field_inputs(fields: &'static [FieldSpec], values: RwSignal<FieldValues>, secrets_set: Vec<String>) -> impl IntoView {
    let i18n = use_i18n();
    fields
        .iter()
        .map(|field| {
            let name = field.name;
            let value = move || values.with(|v| v.get(name).cloned().unwrap_or_default());
            let set = move |text: String| values.update(|v| {
                v.insert(name.to_owned(), text);
            });
            let required = if field.required { " *" } else { "" };
            let input = match field.field_type {
                FieldType::Flag => view! {
                    <input type="checkbox" name=name prop:checked=move || value() == "true"
                        on:change=move |ev| set(event_target_checked(&ev).to_string()) />
                }
                .into_any(),
                FieldType::Secret => {
                    let kept = secrets_set.iter().any(|s| s == name);
                    view! {
                        <input type="password" name=name autocomplete="off" prop:value=value
                            placeholder=move || if kept { t_string!(i18n, secret_kept).to_string() } else { String::new() }
                            on:input=move |ev| set(event_target_value(&ev)) />
                    }
                    .into_any()
                }
                FieldType::Integer => view! {
                    <input type="text" inputmode="numeric" name=name prop:value=value placeholder=field.default
                        on:input=move |ev| set(event_target_value(&ev)) />
                }
                .into_any(),
                FieldType::Text | FieldType::Url => view! {
                    <input type="text" name=name prop:value=value placeholder=field.default
                        on:input=move |ev| set(event_target_value(&ev)) />
                }
                .into_any(),
            };
            view! { <label class="field">{label(i18n, field)} {required} " " {input}</label> }
        })
        .collect_view()
}
