//! The institution tree's server functions: what a login may open, creating and renaming
//! institutions, the scan deadline.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use billetix_core::domain::InstitutionId;

use crate::error::AppError;

/// One institution as a given login sees it, with what that login may do there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstitutionView {
    pub id: InstitutionId,
    pub parent: Option<InstitutionId>,
    pub name: String,
    pub can_create_child: bool,
    pub can_rename: bool,
    pub can_administer: bool,
}

#[cfg(feature = "ssr")]
async fn view_of(
    storage: &dyn crate::ssr::storage::Storage,
    actor: &billetix_core::authorization::Actor,
    institution: billetix_core::domain::Institution,
) -> Result<InstitutionView, AppError> {
    let place = crate::ssr::ancestry_of(storage, institution.id).await?;
    Ok(InstitutionView {
        id: institution.id,
        parent: institution.parent,
        name: institution.name.to_string(),
        can_create_child: actor.can_create_child_of(&place),
        can_rename: actor.can_rename(&place),
        can_administer: actor.can_administer(&place),
    })
}

/// Everything the caller may open in the back office: their Master branch, plus each
/// institution where they have back-office access.
#[server(endpoint = "list_institutions", input = leptos::server_fn::codec::Json)]
pub async fn list_institutions() -> Result<Vec<InstitutionView>, AppError> {
    let (context, actor) = crate::ssr::access::caller().await?;
    let storage = context.storage;
    let mut visible = match actor.master_of {
        Some(branch) => storage.branch(branch).await?,
        None => Vec::new(),
    };
    let member_ids: Vec<InstitutionId> = actor
        .memberships
        .iter()
        .filter(|(id, rights)| rights.backoffice && !visible.iter().any(|i| i.id == *id))
        .map(|(id, _)| *id)
        .collect();
    visible.extend(storage.institutions(&member_ids).await?);
    let mut views = Vec::with_capacity(visible.len());
    for institution in visible {
        views.push(view_of(storage.as_ref(), &actor, institution).await?);
    }
    views.sort_by_key(|v| v.name.to_lowercase());
    Ok(views)
}

#[server(endpoint = "create_institution", input = leptos::server_fn::codec::Json)]
pub async fn create_institution(parent: InstitutionId, name: String) -> Result<InstitutionView, AppError> {
    let above = crate::ssr::access::Parent::of_institution(parent).await?;
    let name = billetix_core::domain::InstitutionName::parse(&name)?;
    let created = above.storage().create_institution(Some(parent), &name).await?;
    tracing::info!(id = %created.id, parent = %parent, "institution created");
    view_of(above.storage(), &above.actor, created).await
}

#[server(endpoint = "rename_institution", input = leptos::server_fn::codec::Json)]
pub async fn rename_institution(id: InstitutionId, name: String) -> Result<(), AppError> {
    let renamer = crate::ssr::access::Renamer::of_institution(id).await?;
    let name = billetix_core::domain::InstitutionName::parse(&name)?;
    Ok(renamer.storage().rename_institution(id, &name).await?)
}

/// How long the institution's scanners wait for the server's verdict (ms).
#[server(endpoint = "scan_deadline", input = leptos::server_fn::codec::Json)]
pub async fn scan_deadline(institution: InstitutionId) -> Result<u32, AppError> {
    let office = crate::ssr::access::Backoffice::of_institution(institution).await?;
    Ok(office.storage().scan_deadline(institution).await?)
}

/// Sets it, for the institution's admins; devices learn it with their next delta.
#[server(endpoint = "set_scan_deadline", input = leptos::server_fn::codec::Json)]
pub async fn set_scan_deadline(institution: InstitutionId, deadline_ms: u32) -> Result<(), AppError> {
    let admin = crate::ssr::access::Admin::of_institution(institution).await?;
    let deadline_ms = billetix_core::domain::check_scan_deadline(deadline_ms)?;
    admin.storage().set_scan_deadline(institution, deadline_ms).await?;
    tracing::info!(%institution, deadline_ms, "scan deadline set");
    Ok(())
}

/// Remembers the institution last worked on, so the back office reopens there.
#[server(endpoint = "open_institution", input = leptos::server_fn::codec::Json)]
pub async fn open_institution(id: InstitutionId) -> Result<(), AppError> {
    let office = crate::ssr::access::Backoffice::of_institution(id).await?;
    Ok(office.storage().set_last_institution(office.actor.login_id, id).await?)
}
