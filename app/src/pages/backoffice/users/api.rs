//! The users tab's server functions: an institution's logins and their rights, for its admins
//! (`ssr::access::Admin`); a login itself, for whoever may manage it (`LoginManager`).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use billetix_core::domain::{InstitutionId, LoginId, LoginName, Rights};

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::ssr::access::{Admin, LoginManager, Staff, target_login};

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

#[server(endpoint = "list_members", input = leptos::server_fn::codec::Json)]
pub async fn list_members(institution: InstitutionId) -> Result<Vec<MemberView>, AppError> {
    let admin = Admin::of_institution(institution).await?;
    let mut views = Vec::new();
    for member in admin.storage().members(institution).await? {
        let target = target_login(admin.storage(), member.login_id).await?;
        views.push(MemberView {
            login_id: member.login_id,
            login: member.name.to_string(),
            rights: member.rights,
            disabled: member.disabled,
            master: member.master_of.is_some(),
            manageable: admin.actor.can_manage_login(&target),
            delays_clearable: admin.actor.can_clear_signin_delays(&target),
            removable: target.may_lose_a_membership(),
        });
    }
    Ok(views)
}

/// Logins the caller may add to this institution (`Actor::can_add_member`), by name.
#[server(endpoint = "addable_logins", input = leptos::server_fn::codec::Json)]
pub async fn addable_logins(institution: InstitutionId) -> Result<Vec<LoginName>, AppError> {
    use std::collections::HashSet;
    let admin = Admin::of_institution(institution).await?;
    let storage = admin.storage();
    // Every login within reach belongs to an institution the caller administers.
    let mut administered: Vec<InstitutionId> = admin.actor.administered_memberships().collect();
    if let Some(branch) = admin.actor.master_of {
        administered.extend(storage.branch(branch).await?.into_iter().map(|i| i.id));
    }
    let mut seen: HashSet<LoginId> = storage.members(institution).await?.iter().map(|m| m.login_id).collect();
    let mut names = Vec::new();
    for administered in administered {
        for member in storage.members(administered).await? {
            if !seen.insert(member.login_id) {
                continue;
            }
            if admin.actor.can_add_member(&target_login(storage, member.login_id).await?, &admin.place) {
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
    let admin = Admin::of_institution(institution).await?;
    let name = LoginName::parse(&login)?;
    let record = admin.storage().login_by_name(&name).await?.ok_or(AppError::NotFound)?;
    if !admin.actor.can_add_member(&target_login(admin.storage(), record.id).await?, &admin.place) {
        tracing::info!(login = %name, institution = %institution, "login out of reach not added");
        return Err(AppError::NotFound);
    }
    admin.set_membership(record.id, rights).await
}

/// Takes a login's rights in this institution away. Its last institution stays (disable the
/// login instead), so someone can always disable it or replace its password.
#[server(endpoint = "remove_member", input = leptos::server_fn::codec::Json)]
pub async fn remove_member(institution: InstitutionId, login_id: LoginId) -> Result<(), AppError> {
    Admin::of_institution(institution).await?.remove_membership(login_id).await
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
    let admin = Admin::of_institution(institution).await?;
    let name = LoginName::parse(&login)?;
    let password = Password::parse(&password)?;
    let hash = crate::ssr::password::hash(&password).await?;
    let id = admin.storage().create_login(&name, &hash).await.map_err(|e| match e {
        StorageError::AlreadyExists => AppError::AlreadyExists(name.to_string()),
        other => other.into(),
    })?;
    admin.set_membership(id, rights).await?;
    tracing::info!(login = %name, institution = %institution, "login created");
    Ok(id)
}

#[server(endpoint = "set_rights", input = leptos::server_fn::codec::Json)]
pub async fn set_rights(institution: InstitutionId, login_id: LoginId, rights: Rights) -> Result<(), AppError> {
    let admin = Admin::of_institution(institution).await?;
    if !admin.storage().members(institution).await?.iter().any(|m| m.login_id == login_id) {
        return Err(AppError::NotFound);
    }
    admin.set_membership(login_id, rights).await
}

/// Logins are never deleted, only disabled; disabling ends the login's session.
#[server(endpoint = "set_login_disabled", input = leptos::server_fn::codec::Json)]
pub async fn set_login_disabled(login_id: LoginId, disabled: bool) -> Result<(), AppError> {
    LoginManager::of(login_id).await?.set_disabled(disabled).await
}

/// Passwords are replaced, never shown nor recovered; whoever held the old one is signed out.
#[server(endpoint = "reset_password", input = leptos::server_fn::codec::Json)]
pub async fn reset_password(login_id: LoginId, password: String) -> Result<(), AppError> {
    let password = billetix_core::domain::Password::parse(&password)?;
    let manager = LoginManager::of(login_id).await?;
    let hash = crate::ssr::password::hash(&password).await?;
    manager.set_password_hash(&hash).await
}

/// Only root's Masters grant (or withdraw) Master, over exactly one branch.
#[server(endpoint = "set_master", input = leptos::server_fn::codec::Json)]
pub async fn set_master(login_id: LoginId, branch: Option<InstitutionId>) -> Result<(), AppError> {
    let staff = Staff::granting_master_to(login_id).await?;
    if let Some(branch) = branch {
        staff.context.storage.institution(branch).await?.ok_or(AppError::NotFound)?;
    }
    staff.context.storage.login(login_id).await?.ok_or(AppError::NotFound)?;
    staff.set_master(login_id, branch).await
}
