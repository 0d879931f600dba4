//! Institutions, logins, memberships, sessions and sign-in throttling.

use async_trait::async_trait;

use billetix_core::domain::{Institution, InstitutionId, InstitutionName, LoginId, LoginName, Rights};

use super::{Millis, StorageResult};
use crate::ssr::signin_throttle::{Reservation, ThrottleKey};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRecord {
    pub id: LoginId,
    pub name: LoginName,
    pub password_hash: String,
    pub disabled: bool,
    pub master_of: Option<InstitutionId>,
    pub last_institution: Option<InstitutionId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    pub login_id: LoginId,
    pub name: LoginName,
    pub rights: Rights,
    pub disabled: bool,
    pub master_of: Option<InstitutionId>,
}

/// Why a session is no longer live; told to the browser that still holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    SignedInElsewhere,
    SignedOut,
    LoginDisabled,
    /// The password was replaced: whoever held the old one is out.
    PasswordChanged,
    /// Idle for too long, or older than its lifetime (`SessionLimits`).
    Expired,
}

/// How long a session lasts without a request, and at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    pub idle: Millis,
    pub lifetime: Millis,
}

impl Default for SessionLimits {
    /// A working day idle; a week at most.
    fn default() -> Self {
        const HOUR: Millis = 3600 * 1000;
        Self { idle: 12 * HOUR, lifetime: 7 * 24 * HOUR }
    }
}

/// What `remove_membership` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembershipRemoval {
    Removed,
    /// Kept: it is the last institution of a login that is not a Master, and a login that
    /// belongs nowhere would be out of everyone's reach (nobody could disable it).
    LastOne,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionActor {
    Live(billetix_core::authorization::Actor),
    Ended(SessionEnd),
    /// Unknown token, or a live session of a disabled login.
    None,
}

#[async_trait]
pub trait AccountStorage: Send + Sync {
    // Institutions.
    async fn root_institution(&self) -> StorageResult<Option<Institution>>;
    /// `parent = None` creates root, which may exist only once.
    async fn create_institution(
        &self,
        parent: Option<InstitutionId>,
        name: &InstitutionName,
    ) -> StorageResult<Institution>;
    async fn rename_institution(&self, id: InstitutionId, name: &InstitutionName) -> StorageResult<()>;
    /// How long the institution's scanners wait for the server's verdict, in milliseconds.
    async fn scan_deadline(&self, id: InstitutionId) -> StorageResult<u32>;
    async fn set_scan_deadline(&self, id: InstitutionId, deadline_ms: u32) -> StorageResult<()>;
    async fn institution(&self, id: InstitutionId) -> StorageResult<Option<Institution>>;
    /// `[id, parent, …, root]`; empty when `id` does not exist.
    async fn ancestry(&self, id: InstitutionId) -> StorageResult<Vec<InstitutionId>>;
    /// The institution and all its descendants.
    async fn branch(&self, id: InstitutionId) -> StorageResult<Vec<Institution>>;
    async fn institutions(&self, ids: &[InstitutionId]) -> StorageResult<Vec<Institution>>;

    // Logins and memberships.
    async fn create_login(&self, name: &LoginName, password_hash: &str) -> StorageResult<LoginId>;
    async fn login(&self, id: LoginId) -> StorageResult<Option<LoginRecord>>;
    async fn login_by_name(&self, name: &LoginName) -> StorageResult<Option<LoginRecord>>;
    /// Also ends the login's live sessions, in the same transaction.
    async fn set_password_hash(&self, id: LoginId, password_hash: &str, now: Millis) -> StorageResult<()>;
    /// Disabling also ends the login's live session.
    async fn set_login_disabled(&self, id: LoginId, disabled: bool, now: Millis) -> StorageResult<()>;
    async fn set_master(&self, id: LoginId, branch: Option<InstitutionId>) -> StorageResult<()>;
    async fn set_last_institution(&self, id: LoginId, institution: InstitutionId) -> StorageResult<()>;
    async fn set_membership(&self, login: LoginId, institution: InstitutionId, rights: Rights) -> StorageResult<()>;
    /// `NotFound` when the login is not a member of `institution`.
    async fn remove_membership(&self, login: LoginId, institution: InstitutionId) -> StorageResult<MembershipRemoval>;
    async fn memberships(&self, login: LoginId) -> StorageResult<Vec<(InstitutionId, Rights)>>;
    async fn members(&self, institution: InstitutionId) -> StorageResult<Vec<MemberRecord>>;

    // Sessions: at most one live session per login, enforced by a unique index.
    /// Starts a session, ending the login's previous one in the same transaction.
    async fn start_session(&self, login: LoginId, token_hash: &str, now: Millis) -> StorageResult<()>;
    /// The session and, when live (within `limits` at `now`) and the login enabled, who holds
    /// it: one round trip, as every request asks it, plus a write of `last_seen_at` at most
    /// once a minute per session.
    async fn session_actor(&self, token_hash: &str, now: Millis, limits: SessionLimits) -> StorageResult<SessionActor>;
    async fn end_session(&self, token_hash: &str, now: Millis) -> StorageResult<()>;

    // Sign-in throttling (`ssr/signin_throttle.rs`), shared by every server process.
    /// Counts an attempt on every key, atomically and before its password is checked; counts
    /// nothing when one key says wait.
    async fn reserve_signin_attempt(&self, keys: &[ThrottleKey], now: Millis) -> StorageResult<Reservation>;
    /// A sign-in succeeded: `forget` is deleted, `release` gets its attempt back.
    async fn signin_succeeded(&self, forget: &ThrottleKey, release: &ThrottleKey) -> StorageResult<()>;
    /// Clears every delay on a login (a Master's hand); the number of keys cleared.
    async fn clear_signin_throttle(&self, login: &LoginName) -> StorageResult<u64>;
}
