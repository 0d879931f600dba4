//! The cards under the logins: create a login, add an existing one; each with its rights.

use leptos::prelude::*;

use billetix_core::domain::{InstitutionId, LoginName, Rights};

use super::api::{AddMember, CreateLogin};
use crate::components::answers::on_success;
use crate::error::AppError;
use crate::i18n::*;

#[component]
pub(super) fn CreateLoginForm(institution: InstitutionId, action: ServerAction<CreateLogin>) -> impl IntoView {
    let i18n = use_i18n();
    let login = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let rights = RwSignal::new(Rights::default());
    on_success(action, move |_| {
        login.set(String::new());
        password.set(String::new());
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        action.dispatch(CreateLogin { institution, login: login.get_untracked(), password: password.get_untracked(), rights: rights.get_untracked() });
    };
    view! {
        <form class="card" on:submit=submit data-testid="create-login-form">
            <h3>{t!(i18n, create_login)}</h3>
            <input name="new-login" placeholder=move || t_string!(i18n, field_login) prop:value=login
                on:input=move |ev| login.set(event_target_value(&ev)) />
            <input name="new-password" type="password" autocomplete="new-password"
                placeholder=move || t_string!(i18n, field_password) prop:value=password
                on:input=move |ev| password.set(event_target_value(&ev)) />
            <RightsPicker rights prefix="new" />
            <button type="submit">{t!(i18n, create_login)}</button>
        </form>
    }
}

/// Gives rights here to a login the caller already reaches, chosen among `addable`.
#[component]
pub(super) fn AddMemberForm(
    institution: InstitutionId,
    addable: Resource<Result<Vec<LoginName>, AppError>>,
    action: ServerAction<AddMember>,
) -> impl IntoView {
    let i18n = use_i18n();
    let login = RwSignal::new(String::new());
    let rights = RwSignal::new(Rights::default());
    on_success(action, move |_| login.set(String::new()));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let login = login.get_untracked();
        if !login.is_empty() {
            action.dispatch(AddMember { institution, login, rights: rights.get_untracked() });
        }
    };
    view! {
        <form class="card" on:submit=submit data-testid="add-member-form">
            <h3>{t!(i18n, add_existing_login)}</h3>
            <select name="existing-login" prop:value=login on:change=move |ev| login.set(event_target_value(&ev))>
                <option value="">{t!(i18n, choose_login)}</option>
                <Transition>
                    {move || addable.get().and_then(|a| a.ok()).map(|names| names.into_iter().map(|name| view! {
                        <option value=name.to_string()>{name.to_string()}</option>
                    }).collect_view())}
                </Transition>
            </select>
            <RightsPicker rights prefix="existing" />
            <button type="submit">{t!(i18n, add_existing_login)}</button>
        </form>
    }
}

#[component]
fn RightsPicker(rights: RwSignal<Rights>, prefix: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <label class="check">
            <input type="checkbox" name=format!("{prefix}-admin") prop:checked=move || rights.get().admin
                on:change=move |ev| rights.update(|r| r.admin = event_target_checked(&ev)) />
            {t!(i18n, right_admin)}
        </label>
        <label class="check">
            <input type="checkbox" name=format!("{prefix}-pda") prop:checked=move || rights.get().pda
                on:change=move |ev| rights.update(|r| r.pda = event_target_checked(&ev)) />
            {t!(i18n, right_pda)}
        </label>
        <label class="check">
            <input type="checkbox" name=format!("{prefix}-backoffice") prop:checked=move || rights.get().backoffice
                on:change=move |ev| rights.update(|r| r.backoffice = event_target_checked(&ev)) />
            {t!(i18n, right_backoffice)}
        </label>
    }
}
