//! Back-office access through a place: the one check every back-office server function and
//! the file upload make before touching an institution's shows and sources.

use billetix_core::authorization::{Actor, Ancestry};
use billetix_core::domain::InstitutionId;
use billetix_core::engine::PerformanceId;

use super::storage::Storage;
use crate::error::AppError;

/// The ancestry of an institution, or `NotFound`.
pub async fn ancestry_of(storage: &dyn Storage, id: InstitutionId) -> Result<Ancestry, AppError> {
    Ancestry::new(storage.ancestry(id).await?).ok_or(AppError::NotFound)
}

pub async fn backoffice_of(storage: &dyn Storage, actor: &Actor, institution: InstitutionId) -> Result<(), AppError> {
    if actor.can_use_backoffice(&ancestry_of(storage, institution).await?) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// The performance's institution, provided the actor has back-office access to it.
pub async fn backoffice_of_performance(storage: &dyn Storage, actor: &Actor, performance: PerformanceId) -> Result<InstitutionId, AppError> {
    let context = storage.performance_contexts(&[performance]).await?.pop().ok_or(AppError::NotFound)?;
    backoffice_of(storage, actor, context.institution).await?;
    Ok(context.institution)
}

/// A login as the rules about managing logins see it: where it is Master and where it belongs.
pub async fn target_login(storage: &dyn Storage, login: billetix_core::domain::LoginId) -> Result<billetix_core::authorization::TargetLogin, AppError> {
    let record = storage.login(login).await?.ok_or(AppError::NotFound)?;
    let master_of = match record.master_of {
        Some(branch) => Some(ancestry_of(storage, branch).await?),
        None => None,
    };
    let mut memberships = Vec::new();
    for (institution, _) in storage.memberships(login).await? {
        memberships.push(ancestry_of(storage, institution).await?);
    }
    Ok(billetix_core::authorization::TargetLogin { login_id: login, master_of, memberships })
}
