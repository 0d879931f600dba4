//! Who may reach what, for the server functions: each guard reads the caller's session, loads
//! where the object sits in the institution tree, asks the pure rules
//! (`billetix_core::authorization`) and hands back what it loaded. A server function holding a
//! `Backoffice` has had its caller's back-office access checked, one holding an `Admin`,
//! administration: `Backoffice::of_performance(id).await?`. The caller is read first (no
//! session: `NotSignedIn`), then the object (`NotFound`), then the right (`Forbidden`).

use std::marker::PhantomData;

use billetix_core::authorization::{Actor, Ancestry, TargetLogin};
pub use billetix_core::authorization::{Administer, CreateChild, Rename, Right, UseBackoffice};
use billetix_core::domain::{EventId, InstitutionId, LoginId, SourceId, VenueId, VenueZone};
use billetix_core::engine::PerformanceId;

use super::context::{ServerContext, context};
use super::session::current_actor;
use super::storage::{PerformanceContext, SourceRecord, Storage};
use crate::error::AppError;

/// A right `R` of the caller over one institution, with what was loaded to find it (`record`).
pub struct Access<R: Right, T = ()> {
    pub context: ServerContext,
    pub actor: Actor,
    pub institution: InstitutionId,
    /// The institution's place in the tree, for the rules a function asks beyond `R`.
    pub place: Ancestry,
    pub record: T,
    right: PhantomData<R>,
}

/// Back-office access: shows, grid, reports.
pub type Backoffice<T = ()> = Access<UseBackoffice, T>;
/// Administration: users, sources, the scan deadline.
pub type Admin<T = ()> = Access<Administer, T>;
/// Renaming the institution itself.
pub type Renamer = Access<Rename>;
/// Creating sub-institutions under it.
pub type Parent = Access<CreateChild>;

impl<R: Right> Access<R> {
    pub async fn of_institution(institution: InstitutionId) -> Result<Self, AppError> {
        let (context, actor) = caller().await?;
        Self::check(context, actor, institution, ()).await
    }

    pub async fn of_venue(venue: VenueId) -> Result<Self, AppError> {
        let (context, actor) = caller().await?;
        let (institution, _) = context.storage.venue_institution(venue).await?.ok_or(AppError::NotFound)?;
        Self::check(context, actor, institution, ()).await
    }

    /// The event's institution; the record is its venue's time zone.
    pub async fn of_event(event: EventId) -> Result<Access<R, VenueZone>, AppError> {
        let (context, actor) = caller().await?;
        let (institution, zone) = context.storage.event_place(event).await?.ok_or(AppError::NotFound)?;
        let zone = VenueZone::parse(&zone).map_err(|_| {
            tracing::error!(%event, zone, "stored venue time zone unknown");
            AppError::Internal
        })?;
        Self::check(context, actor, institution, zone).await
    }

    pub async fn of_performance(performance: PerformanceId) -> Result<Access<R, PerformanceContext>, AppError> {
        let (context, actor) = caller().await?;
        let record = context.storage.performance_contexts(&[performance]).await?.pop().ok_or(AppError::NotFound)?;
        Self::check(context, actor, record.institution, record).await
    }

    pub async fn of_source(source: SourceId) -> Result<Access<R, SourceRecord>, AppError> {
        let (context, actor) = caller().await?;
        let record = context.storage.source(source).await?.ok_or(AppError::NotFound)?;
        Self::check(context, actor, record.institution, record).await
    }

    async fn check<T>(context: ServerContext, actor: Actor, institution: InstitutionId, record: T) -> Result<Access<R, T>, AppError> {
        let place = ancestry_of(context.storage.as_ref(), institution).await?;
        if !R::holds(&actor, &place) {
            return Err(AppError::Forbidden);
        }
        Ok(Access { context, actor, institution, place, record, right: PhantomData })
    }
}

impl<R: Right, T> Access<R, T> {
    pub fn storage(&self) -> &dyn Storage {
        self.context.storage.as_ref()
    }

    /// Whether the caller also administers the institution.
    pub fn administers(&self) -> bool {
        self.actor.can_administer(&self.place)
    }

    /// One of the institution's sources: another institution's is `NotFound`.
    pub async fn source(&self, source: SourceId) -> Result<SourceRecord, AppError> {
        self.storage().source(source).await?.filter(|s| s.institution == self.institution).ok_or(AppError::NotFound)
    }
}

/// The right to change a login itself (password, disabled flag): `Actor::can_manage_login`.
pub struct LoginManager {
    pub context: ServerContext,
    pub actor: Actor,
    pub target: TargetLogin,
}

impl LoginManager {
    pub async fn of(login: LoginId) -> Result<Self, AppError> {
        let (context, actor) = caller().await?;
        let target = target_login(context.storage.as_ref(), login).await?;
        if !actor.can_manage_login(&target) {
            return Err(AppError::Forbidden);
        }
        Ok(Self { context, actor, target })
    }
}

/// Root's Masters: Billetix staff, who alone grant Master.
pub struct Staff {
    pub context: ServerContext,
    pub actor: Actor,
}

impl Staff {
    /// The caller, if staff may grant Master to `login` (never to themselves).
    pub async fn granting_master_to(login: LoginId) -> Result<Self, AppError> {
        let (context, actor) = caller().await?;
        let root = context.storage.root_institution().await?.ok_or(AppError::NotFound)?;
        if !actor.can_grant_master(root.id, login) {
            return Err(AppError::Forbidden);
        }
        Ok(Self { context, actor })
    }
}

/// The signed-in caller and the server's parts.
pub async fn caller() -> Result<(ServerContext, Actor), AppError> {
    let context = context()?;
    let actor = current_actor().await?;
    Ok((context, actor))
}

/// The ancestry of an institution, or `NotFound`.
pub async fn ancestry_of(storage: &dyn Storage, id: InstitutionId) -> Result<Ancestry, AppError> {
    Ancestry::new(storage.ancestry(id).await?).ok_or(AppError::NotFound)
}

/// For the plain axum routes (upload, export), which read their caller themselves: the
/// performance's institution, provided the actor has back-office access to it.
pub async fn backoffice_of_performance(storage: &dyn Storage, actor: &Actor, performance: PerformanceId) -> Result<InstitutionId, AppError> {
    let context = storage.performance_contexts(&[performance]).await?.pop().ok_or(AppError::NotFound)?;
    if !actor.can_use_backoffice(&ancestry_of(storage, context.institution).await?) {
        return Err(AppError::Forbidden);
    }
    Ok(context.institution)
}

/// A login as the rules about managing logins see it: where it is Master and where it belongs.
pub async fn target_login(storage: &dyn Storage, login: LoginId) -> Result<TargetLogin, AppError> {
    let record = storage.login(login).await?.ok_or(AppError::NotFound)?;
    let master_of = match record.master_of {
        Some(branch) => Some(ancestry_of(storage, branch).await?),
        None => None,
    };
    let mut memberships = Vec::new();
    for (institution, _) in storage.memberships(login).await? {
        memberships.push(ancestry_of(storage, institution).await?);
    }
    Ok(TargetLogin { login_id: login, master_of, memberships })
}
