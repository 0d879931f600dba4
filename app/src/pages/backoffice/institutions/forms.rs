//! The forms above the tabs: rename the institution, add a sub-institution, its scan deadline.

use leptos::prelude::*;

use billetix_core::domain::InstitutionId;

use super::api::{CreateInstitution, InstitutionView, RenameInstitution, SetScanDeadline, scan_deadline};
use crate::components::answers::{on_success, show_answers};
use crate::components::error_text::ErrorLine;
use crate::error::AppError;
use crate::i18n::*;

/// Rename the selected institution and add sub-institutions, where the login may.
#[component]
pub fn InstitutionForms(institution: InstitutionView, on_change: Callback<InstitutionId>) -> impl IntoView {
    let i18n = use_i18n();
    let id = institution.id;
    let new_name = RwSignal::new(institution.name.clone());
    let child_name = RwSignal::new(String::new());
    let (error, set_error) = signal(None::<AppError>);
    let rename = ServerAction::<RenameInstitution>::new();
    let create = ServerAction::<CreateInstitution>::new();
    show_answers(rename, set_error);
    show_answers(create, set_error);
    on_success(rename, move |_| on_change.run(id));
    on_success(create, move |created| {
        child_name.set(String::new());
        on_change.run(created.id);
    });
    let submit_rename = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        rename.dispatch(RenameInstitution { id, name: new_name.get_untracked() });
    };
    let submit_create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        create.dispatch(CreateInstitution { parent: id, name: child_name.get_untracked() });
    };
    view! {
        <div class="forms">
            <Show when=move || institution.can_rename>
                <form class="inline" on:submit=submit_rename data-testid="rename-form">
                    <input name="name" prop:value=new_name on:input=move |ev| new_name.set(event_target_value(&ev)) />
                    <button type="submit">{t!(i18n, rename)}</button>
                </form>
            </Show>
            <Show when=move || institution.can_create_child>
                <form class="inline" on:submit=submit_create data-testid="create-child-form">
                    <input name="child" placeholder=move || t_string!(i18n, new_sub_institution_name)
                        prop:value=child_name on:input=move |ev| child_name.set(event_target_value(&ev)) />
                    <button type="submit">{t!(i18n, add_sub_institution)}</button>
                </form>
            </Show>
            <Show when=move || institution.can_administer>
                <ScanDeadlineForm institution=id />
            </Show>
            <ErrorLine error />
        </div>
    }
}

/// The institution's scan deadline, for its admins.
#[component]
fn ScanDeadlineForm(institution: InstitutionId) -> impl IntoView {
    let i18n = use_i18n();
    let typed = RwSignal::new(String::new());
    let (error, set_error) = signal(None::<AppError>);
    let saved = RwSignal::new(false);
    let current = Resource::new(move || institution, scan_deadline);
    Effect::new(move || {
        if let Some(Ok(ms)) = current.get() {
            typed.set(ms.to_string());
        }
    });
    let set = ServerAction::<SetScanDeadline>::new();
    show_answers(set, set_error);
    on_success(set, move |_| saved.set(true));
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        saved.set(false);
        match billetix_core::domain::parse_scan_deadline(&typed.get_untracked()) {
            Ok(deadline_ms) => {
                set.dispatch(SetScanDeadline { institution, deadline_ms });
            }
            Err(refused) => set_error.set(Some(refused.into())),
        }
    };
    view! {
        <form class="inline" on:submit=save data-testid="scan-deadline-form" data-saved=move || saved.get().to_string()>
            <label>{t!(i18n, institution_scan_deadline)} " "
                <input name="scan_deadline_ms" type="number" min="50" max="5000" prop:value=typed
                    on:input=move |ev| typed.set(event_target_value(&ev)) />
            </label>
            <button type="submit">{t!(i18n, save)}</button>
            <ErrorLine error />
        </form>
    }
}
