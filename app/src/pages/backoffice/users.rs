//! The users tab: the logins of one institution, their rights, new and existing logins.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::{Deserialize, Serialize};

use billetix_core::domain::{InstitutionId, LoginId, LoginName, Rights};

use crate::components::error_text::ErrorLine;
use crate::error::AppError;
use crate::i18n::*;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    pub login_id: LoginId,
    pub login: String,
    pub rights: Rights,
    pub disabled: bool,
    pub master: bool,
    /// The caller may disable this login or replace its password.
    pub manageable: bool,
    /// The caller, a Master over this login, may lift its sign-in delays.
    pub delays_clearable: bool,
    /// Not this login's last institution (a login that belonged nowhere would be out of
    /// everyone's reach), or a Master.
    pub removable: bool,
}

/// Doors read who is signed in from a cache (`ssr/actor_cache.rs`): a change to
/// someone's rights reaches this process's doors at once.
#[cfg(feature = "ssr")]
fn rights_changed() -> Result<(), AppError> {
    crate::ssr::context()?.actors.forget_all();
    Ok(())
}

#[cfg(feature = "ssr")]
mod guard {
    use std::sync::Arc;

    use billetix_core::authorization::Actor;
    use billetix_core::domain::{InstitutionId, LoginId};

    use crate::error::AppError;
    use crate::ssr::storage::Storage;
    use crate::ssr::{ancestry_of, context, session::current_actor};

    /// The caller, provided they administer `institution`.
    pub async fn administrator_of(institution: InstitutionId) -> Result<(Arc<dyn Storage>, Actor), AppError> {
        let storage = context()?.storage;
        let actor = current_actor().await?;
        let place = ancestry_of(storage.as_ref(), institution).await?;
        if !actor.can_administer(&place) {
            return Err(AppError::Forbidden);
        }
        Ok((storage, actor))
    }

    pub use crate::ssr::guard::target_login as target;

    /// The caller, provided they may change `login` itself (password, disabled).
    pub async fn manager_of(login: LoginId) -> Result<Arc<dyn Storage>, AppError> {
        let storage = context()?.storage;
        let actor = current_actor().await?;
        if !actor.can_manage_login(&target(storage.as_ref(), login).await?) {
            return Err(AppError::Forbidden);
        }
        Ok(storage)
    }
}

#[server(endpoint = "list_members", input = leptos::server_fn::codec::Json)]
pub async fn list_members(institution: InstitutionId) -> Result<Vec<MemberView>, AppError> {
    let (storage, actor) = guard::administrator_of(institution).await?;
    let mut views = Vec::new();
    for member in storage.members(institution).await? {
        let target = guard::target(storage.as_ref(), member.login_id).await?;
        views.push(MemberView {
            login_id: member.login_id,
            login: member.name.to_string(),
            rights: member.rights,
            disabled: member.disabled,
            master: member.master_of.is_some(),
            manageable: actor.can_manage_login(&target),
            delays_clearable: actor.master_of.is_some() && actor.can_manage_login(&target),
            removable: target.memberships.len() > 1 || target.master_of.is_some(),
        });
    }
    Ok(views)
}

/// Logins the caller may add to this institution (`Actor::can_add_member`), by name.
#[server(endpoint = "addable_logins", input = leptos::server_fn::codec::Json)]
pub async fn addable_logins(institution: InstitutionId) -> Result<Vec<LoginName>, AppError> {
    use std::collections::HashSet;
    let (storage, actor) = guard::administrator_of(institution).await?;
    let place = crate::ssr::ancestry_of(storage.as_ref(), institution).await?;
    // Every login within reach belongs to an institution the caller administers.
    let mut administered: Vec<InstitutionId> =
        actor.memberships.iter().filter(|(_, r)| r.admin && r.backoffice).map(|(id, _)| *id).collect();
    if let Some(branch) = actor.master_of {
        administered.extend(storage.branch(branch).await?.into_iter().map(|i| i.id));
    }
    let mut seen: HashSet<LoginId> = storage.members(institution).await?.iter().map(|m| m.login_id).collect();
    let mut names = Vec::new();
    for administered in administered {
        for member in storage.members(administered).await? {
            if !seen.insert(member.login_id) {
                continue;
            }
            if actor.can_add_member(&guard::target(storage.as_ref(), member.login_id).await?, &place) {
                names.push(member.name);
            }
        }
    }
    names.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    Ok(names)
}

/// Gives an existing login rights in this institution, if the caller already reaches it. A
/// login out of reach answers as a name that does not exist: no one learns other
/// institutions' logins, nor takes them away from their owners.
#[server(endpoint = "add_member", input = leptos::server_fn::codec::Json)]
pub async fn add_member(institution: InstitutionId, login: String, rights: Rights) -> Result<(), AppError> {
    let (storage, actor) = guard::administrator_of(institution).await?;
    let place = crate::ssr::ancestry_of(storage.as_ref(), institution).await?;
    let name = LoginName::parse(&login)?;
    let record = storage.login_by_name(&name).await?.ok_or(AppError::NotFound)?;
    if !actor.can_add_member(&guard::target(storage.as_ref(), record.id).await?, &place) {
        tracing::info!(login = %name, institution = %institution, "login out of reach not added");
        return Err(AppError::NotFound);
    }
    storage.set_membership(record.id, institution, rights).await?;
    rights_changed()
}

/// Takes a login's rights in this institution away. Its last institution stays (disable the
/// login instead), so someone can always disable it or replace its password.
#[server(endpoint = "remove_member", input = leptos::server_fn::codec::Json)]
pub async fn remove_member(institution: InstitutionId, login_id: LoginId) -> Result<(), AppError> {
    use crate::ssr::storage::MembershipRemoval;
    let (storage, _) = guard::administrator_of(institution).await?;
    match storage.remove_membership(login_id, institution).await? {
        MembershipRemoval::Removed => rights_changed(),
        MembershipRemoval::LastOne => Err(AppError::Forbidden),
    }
}

#[server(endpoint = "create_login", input = leptos::server_fn::codec::Json)]
pub async fn create_login(
    institution: InstitutionId,
    login: String,
    password: String,
    rights: Rights,
) -> Result<LoginId, AppError> {
    use billetix_core::domain::Password;

    use crate::ssr::storage::StorageError;
    let (storage, _) = guard::administrator_of(institution).await?;
    let name = LoginName::parse(&login)?;
    let password = Password::parse(&password)?;
    let hash = crate::ssr::password::hash(&password).await?;
    let id = storage.create_login(&name, &hash).await.map_err(|e| match e {
        StorageError::AlreadyExists => AppError::AlreadyExists(name.to_string()),
        other => other.into(),
    })?;
    storage.set_membership(id, institution, rights).await?;
    tracing::info!(login = %name, institution = %institution, "login created");
    Ok(id)
}

#[server(endpoint = "set_rights", input = leptos::server_fn::codec::Json)]
pub async fn set_rights(institution: InstitutionId, login_id: LoginId, rights: Rights) -> Result<(), AppError> {
    let (storage, _) = guard::administrator_of(institution).await?;
    if !storage.members(institution).await?.iter().any(|m| m.login_id == login_id) {
        return Err(AppError::NotFound);
    }
    storage.set_membership(login_id, institution, rights).await?;
    rights_changed()
}

/// Logins are never deleted, only disabled; disabling ends the login's session.
#[server(endpoint = "set_login_disabled", input = leptos::server_fn::codec::Json)]
pub async fn set_login_disabled(login_id: LoginId, disabled: bool) -> Result<(), AppError> {
    let storage = guard::manager_of(login_id).await?;
    storage.set_login_disabled(login_id, disabled, crate::ssr::now_millis()).await?;
    rights_changed()
}

/// Passwords are replaced, never shown nor recovered; whoever held the old one is signed out.
#[server(endpoint = "reset_password", input = leptos::server_fn::codec::Json)]
pub async fn reset_password(login_id: LoginId, password: String) -> Result<(), AppError> {
    let password = billetix_core::domain::Password::parse(&password)?;
    let storage = guard::manager_of(login_id).await?;
    let hash = crate::ssr::password::hash(&password).await?;
    storage.set_password_hash(login_id, &hash, crate::ssr::now_millis()).await?;
    rights_changed()
}

/// Only root's Masters grant (or withdraw) Master, over exactly one branch.
#[server(endpoint = "set_master", input = leptos::server_fn::codec::Json)]
pub async fn set_master(login_id: LoginId, branch: Option<InstitutionId>) -> Result<(), AppError> {
    use crate::ssr::{context, session::current_actor};
    let storage = context()?.storage;
    let actor = current_actor().await?;
    let root = storage.root_institution().await?.ok_or(AppError::NotFound)?;
    if !actor.is_root_master(root.id) || actor.login_id == login_id {
        return Err(AppError::Forbidden);
    }
    if let Some(branch) = branch {
        storage.institution(branch).await?.ok_or(AppError::NotFound)?;
    }
    storage.login(login_id).await?.ok_or(AppError::NotFound)?;
    storage.set_master(login_id, branch).await?;
    rights_changed()
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

#[component]
pub fn UsersTab(institution: InstitutionId) -> impl IntoView {
    let i18n = use_i18n();
    let version = RwSignal::new(0u32);
    let members = Resource::new(move || version.get(), move |_| list_members(institution));
    let addable = Resource::new(move || version.get(), move |_| addable_logins(institution));
    let (error, set_error) = signal(None::<AppError>);
    let reload = move || version.update(|v| *v += 1);
    let report = move |result: Result<(), AppError>| match result {
        Ok(()) => {
            set_error.set(None);
            reload();
        }
        Err(e) => set_error.set(Some(e)),
    };

    let new_login = RwSignal::new(String::new());
    let new_password = RwSignal::new(String::new());
    let new_rights = RwSignal::new(Rights::default());
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        spawn_local(async move {
            let result = create_login(institution, new_login.get_untracked(), new_password.get_untracked(), new_rights.get_untracked()).await;
            if result.is_ok() {
                new_login.set(String::new());
                new_password.set(String::new());
            }
            report(result.map(|_| ()));
        });
    };

    let existing_login = RwSignal::new(String::new());
    let existing_rights = RwSignal::new(Rights::default());
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let login = existing_login.get_untracked();
        if login.is_empty() {
            return;
        }
        spawn_local(async move {
            let result = add_member(institution, login, existing_rights.get_untracked()).await;
            if result.is_ok() {
                existing_login.set(String::new());
            }
            report(result);
        });
    };

    let member_row = move |m: MemberView| {
        let login_id = m.login_id;
        let rights = m.rights;
        let toggle = move |change: fn(&mut Rights, bool)| {
            move |ev: leptos::ev::Event| {
                let mut updated = rights;
                change(&mut updated, event_target_checked(&ev));
                spawn_local(async move { report(set_rights(institution, login_id, updated).await) });
            }
        };
        let disabled = m.disabled;
        let flip_disabled = move |_| {
            spawn_local(async move { report(set_login_disabled(login_id, !disabled).await) });
        };
        let remove = move |_| {
            spawn_local(async move { report(remove_member(institution, login_id).await) });
        };
        let clear_delays = move |_| {
            spawn_local(async move { report(crate::pages::signin::clear_signin_delays(login_id).await.map(|_| ())) });
        };
        let reset = move |_| {
            let prompt = t_string!(i18n, new_password_prompt).to_string();
            let Some(password) = web_sys::window().and_then(|w| w.prompt_with_message(&prompt).ok().flatten()) else {
                return;
            };
            spawn_local(async move { report(reset_password(login_id, password).await) });
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
    };

    view! {
        <section class="users" data-testid="users-tab">
            <ErrorLine error />
            <table>
                <thead><tr>
                    <th>{t!(i18n, field_login)}</th><th>{t!(i18n, right_admin)}</th>
                    <th>{t!(i18n, right_pda)}</th><th>{t!(i18n, right_backoffice)}</th><th></th>
                </tr></thead>
                <tbody>
                    <Transition>
                        {move || members.get().map(|result| match result {
                            Ok(list) => list.into_iter().map(member_row).collect_view().into_any(),
                            Err(e) => { set_error.set(Some(e)); ().into_any() }
                        })}
                    </Transition>
                </tbody>
            </table>
            <form class="card" on:submit=create data-testid="create-login-form">
                <h3>{t!(i18n, create_login)}</h3>
                <input name="new-login" placeholder=move || t_string!(i18n, field_login) prop:value=new_login
                    on:input=move |ev| new_login.set(event_target_value(&ev)) />
                <input name="new-password" type="password" autocomplete="new-password"
                    placeholder=move || t_string!(i18n, field_password) prop:value=new_password
                    on:input=move |ev| new_password.set(event_target_value(&ev)) />
                <RightsPicker rights=new_rights prefix="new" />
                <button type="submit">{t!(i18n, create_login)}</button>
            </form>
            <form class="card" on:submit=add data-testid="add-member-form">
                <h3>{t!(i18n, add_existing_login)}</h3>
                <select name="existing-login" prop:value=existing_login
                    on:change=move |ev| existing_login.set(event_target_value(&ev))>
                    <option value="">{t!(i18n, choose_login)}</option>
                    <Transition>
                        {move || addable.get().and_then(|a| a.ok()).map(|names| names.into_iter().map(|name| view! {
                            <option value=name.to_string()>{name.to_string()}</option>
                        }).collect_view())}
                    </Transition>
                </select>
                <RightsPicker rights=existing_rights prefix="existing" />
                <button type="submit">{t!(i18n, add_existing_login)}</button>
            </form>
        </section>
    }
}
