//! One login's line: its rights as boxes, and what the caller may do to it.

use leptos::prelude::*;

use billetix_core::domain::{InstitutionId, Rights};

use super::api::{MemberView, RemoveMember, ResetPassword, SetLoginDisabled, SetRights};
use super::tab::UserActions;
use crate::i18n::*;
use crate::pages::signin::ClearSigninDelays;

#[component]
pub(super) fn MemberLine(institution: InstitutionId, member: MemberView, actions: UserActions) -> impl IntoView {
    let i18n = use_i18n();
    let m = member;
    let (login_id, rights, disabled) = (m.login_id, m.rights, m.disabled);
    let toggle = move |change: fn(&mut Rights, bool)| {
        move |ev: leptos::ev::Event| {
            let mut updated = rights;
            change(&mut updated, event_target_checked(&ev));
            actions.set_rights.dispatch(SetRights { institution, login_id, rights: updated });
        }
    };
    let flip_disabled = move |_| {
        actions.set_disabled.dispatch(SetLoginDisabled { login_id, disabled: !disabled });
    };
    let remove = move |_| {
        actions.remove_member.dispatch(RemoveMember { institution, login_id });
    };
    let clear_delays = move |_| {
        actions.clear_delays.dispatch(ClearSigninDelays { login_id });
    };
    let reset = move |_| {
        let prompt = t_string!(i18n, new_password_prompt).to_string();
        if let Some(password) = web_sys::window().and_then(|w| w.prompt_with_message(&prompt).ok().flatten()) {
            actions.reset_password.dispatch(ResetPassword { login_id, password });
        }
    };
    view! {
        <tr data-login=m.login.clone() class:disabled=m.disabled>
            <td>{m.login.clone()} {m.master.then(|| view! { <span class="badge">"Master"</span> })}</td>
            <td><input type="checkbox" prop:checked=rights.admin on:change=toggle(|r, v| r.admin = v) /></td>
            <td><input type="checkbox" prop:checked=rights.pda on:change=toggle(|r, v| r.pda = v) /></td>
            <td><input type="checkbox" prop:checked=rights.backoffice on:change=toggle(|r, v| r.backoffice = v) /></td>
            <td>
                <Show when=move || m.manageable>
                    <button class="link" on:click=flip_disabled>
                        {if disabled { t_string!(i18n, enable) } else { t_string!(i18n, disable) }}
                    </button>
                    <button class="link" on:click=reset>{t!(i18n, reset_password)}</button>
                </Show>
                <Show when=move || m.delays_clearable>
                    <button class="link" data-testid="clear-signin-delays" on:click=clear_delays>{t!(i18n, clear_signin_delays)}</button>
                </Show>
                <Show when=move || m.removable>
                    <button class="link" data-testid="remove-member" on:click=remove>{t!(i18n, remove_member)}</button>
                </Show>
            </td>
        </tr>
    }
}
