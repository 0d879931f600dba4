//! Back-office access through a place: the one check every back-office server function and
//! the file upload make before touching an institution's shows and sources.

use crate::authorization::Actor;
use crate::backend::ancestry_of;
use crate::backend::storage::Storage;
use crate::domain::InstitutionId;
use crate::engine::PerformanceId;
use crate::error::AppError;

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
pub async fn target_login(storage: &dyn Storage, login: crate::domain::LoginId) -> Result<crate::authorization::TargetLogin, AppError> {
    let record = storage.login(login).await?.ok_or(AppError::NotFound)?;
    let master_of = match record.master_of {
        Some(branch) => Some(ancestry_of(storage, branch).await?),
        None => None,
    };
    let mut memberships = Vec::new();
    for (institution, _) in storage.memberships(login).await? {
        memberships.push(ancestry_of(storage, institution).await?);
    }
    Ok(crate::authorization::TargetLogin { login_id: login, master_of, memberships })
}
