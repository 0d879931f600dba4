//! The writes that change what a cache keeps, as methods of the permit that allows them: each
//! writes and forgets the kept copy in one call, so no server function can do one without the
//! other. This process's doors see the change at once, other processes' within `FRESH_FOR`
//! (`kept.rs`).

use billetix_core::authorization::Right;
use billetix_core::domain::{InstitutionId, LoginId, ParseError, PerformanceForm, Rights, SourceId};
use billetix_core::engine::Gate;
use billetix_core::ids::GateId;
use billetix_core::sync::protocol::LiveEvent;

use super::access::{Access, LoginManager, Staff};
use super::context::now_millis;
use super::storage::{MembershipRemoval, PerformanceContext};
use crate::error::AppError;

/// Writes to one performance: devices and the scan step read its window, filters and PDA box
/// from the performance cache.
impl<R: Right> Access<R, PerformanceContext> {
    pub async fn update_performance(&self, form: &PerformanceForm) -> Result<(), AppError> {
        self.storage()
            .update_performance(self.record.id, form.label.as_str(), form.starts_at, form.window, form.import_end)
            .await?;
        self.context.performances.forget(self.record.id);
        Ok(())
    }

    pub async fn set_pda_open(&self, open: bool) -> Result<(), AppError> {
        self.storage().set_pda_open(self.record.id, open).await?;
        self.context.performances.forget(self.record.id);
        Ok(())
    }

    /// Excludes exactly `excluded` among the categories present.
    pub async fn set_category_filters(&self, excluded: &[String]) -> Result<(), AppError> {
        self.storage().set_category_filters(self.record.id, excluded).await?;
        self.context.performances.forget(self.record.id);
        Ok(())
    }

    /// Adds a gate to the performance: checked, stored with a new rules version, announced to
    /// the doors (`rules_changed`). A name the performance has already is `AlreadyExists`.
    pub async fn create_gate(&self, rules: &Gate) -> Result<GateId, AppError> {
        rules.check().map_err(ParseError::from)?;
        let created = self.storage().create_gate(self.record.id, rules).await.map_err(|e| gate_write_error(e, rules))?;
        self.rules_changed();
        Ok(created)
    }

    /// Replaces the rules of one of the performance's gates (another's is `NotFound`).
    pub async fn update_gate(&self, gate: GateId, rules: &Gate) -> Result<(), AppError> {
        rules.check().map_err(ParseError::from)?;
        self.storage().update_gate(self.record.id, gate, rules).await.map_err(|e| gate_write_error(e, rules))?;
        self.rules_changed();
        Ok(())
    }

    pub async fn delete_gate(&self, gate: GateId) -> Result<(), AppError> {
        self.storage().delete_gate(self.record.id, gate).await?;
        self.rules_changed();
        Ok(())
    }

    /// This process's doors decide with the new rules at once; devices watching the
    /// performance are told to take them with a delta (other processes' caches follow within
    /// `FRESH_FOR`).
    fn rules_changed(&self) {
        self.context.performances.forget(self.record.id);
        self.context.live.publish(LiveEvent::rules_changed(self.record.id));
    }

    pub async fn detach_source(&self, source: SourceId) -> Result<(), AppError> {
        self.storage().detach_source(self.record.id, source).await?;
        self.context.performances.forget(self.record.id);
        Ok(())
    }
}

/// Writes to rights: doors read who is signed in from the actor cache (`actor_cache.rs`), and
/// such changes are rare, so all of it goes.
impl<R: Right, T> Access<R, T> {
    pub async fn set_membership(&self, login: LoginId, rights: Rights) -> Result<(), AppError> {
        self.storage().set_membership(login, self.institution, rights).await?;
        self.context.actors.forget_all();
        Ok(())
    }

    /// A login's last institution stays (`Forbidden`): disable the login instead, so someone
    /// can always disable it or replace its password.
    pub async fn remove_membership(&self, login: LoginId) -> Result<(), AppError> {
        match self.storage().remove_membership(login, self.institution).await? {
            MembershipRemoval::Removed => {
                self.context.actors.forget_all();
                Ok(())
            }
            MembershipRemoval::LastOne => Err(AppError::Forbidden),
        }
    }
}

impl LoginManager {
    /// Disabling ends the login's session.
    pub async fn set_disabled(&self, disabled: bool) -> Result<(), AppError> {
        self.context.storage.set_login_disabled(self.target.login_id, disabled, now_millis()).await?;
        self.context.actors.forget_all();
        Ok(())
    }

    /// Whoever held the old password is signed out.
    pub async fn set_password_hash(&self, hash: &str) -> Result<(), AppError> {
        self.context.storage.set_password_hash(self.target.login_id, hash, now_millis()).await?;
        self.context.actors.forget_all();
        Ok(())
    }
}

impl Staff {
    pub async fn set_master(&self, login: LoginId, branch: Option<InstitutionId>) -> Result<(), AppError> {
        self.context.storage.set_master(login, branch).await?;
        self.context.actors.forget_all();
        Ok(())
    }
}

/// A gate's name taken already is named in the answer.
fn gate_write_error(e: super::storage::StorageError, rules: &Gate) -> AppError {
    match e {
        super::storage::StorageError::AlreadyExists => AppError::AlreadyExists(rules.name.clone()),
        other => other.into(),
    }
}
