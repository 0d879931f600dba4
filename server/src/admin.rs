//! The administrator's command line (`billetix admin …`): what an operator does to a login
//! without the back office, when nobody can sign in to it any more. Each step is the back
//! office's own storage call; a running server sees the change within its caches' 2 s.

use app::ssr::password;
use app::ssr::storage::{LoginRecord, Storage, StorageError};
use app::domain::{Institution, LoginName, Password};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0:?} is not a login name: {1}")]
    BadLogin(String, app::domain::ParseError),
    #[error("there is no login {0}")]
    UnknownLogin(String),
    #[error("a login {0} exists already (reset-password gives it a new password)")]
    LoginExists(String),
    #[error("there is no institution {0:?} (give its name or its number)")]
    UnknownInstitution(String),
    #[error("several institutions are named {name:?}: give the number of one ({numbers})")]
    AmbiguousInstitution { name: String, numbers: String },
    #[error("a random password could not be made: {0}")]
    Password(app::domain::ParseError),
    #[error("hashing the new password failed")]
    Hash,
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
}

/// What `unlock` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unlocked {
    /// Sign-in delays lifted (throttling keys of the login).
    pub delays_cleared: u64,
    /// The login was disabled and is enabled again (`--enable`).
    pub enabled: bool,
    /// The login is disabled and stays so (no `--enable`).
    pub still_disabled: bool,
}

async fn login(storage: &dyn Storage, name: &str) -> Result<LoginRecord, AdminError> {
    let parsed = LoginName::parse(name).map_err(|e| AdminError::BadLogin(name.to_owned(), e))?;
    storage.login_by_name(&parsed).await?.ok_or_else(|| AdminError::UnknownLogin(parsed.to_string()))
}

async fn new_password() -> Result<(Password, String), AdminError> {
    let password = crate::bootstrap::random_password().map_err(AdminError::Password)?;
    let hash = password::hash(&password).await.map_err(|_| AdminError::Hash)?;
    Ok((password, hash))
}

/// Gives `login` a new random password, returned to be shown once; its sessions end.
pub async fn reset_password(storage: &dyn Storage, login_name: &str) -> Result<Password, AdminError> {
    let record = login(storage, login_name).await?;
    let (password, hash) = new_password().await?;
    storage.set_password_hash(record.id, &hash, app::ssr::now_millis()).await?;
    tracing::info!(login = %record.name, "password reset from the command line");
    Ok(password)
}

/// The institution named `branch`, or numbered so.
async fn institution(storage: &dyn Storage, branch: &str) -> Result<Institution, AdminError> {
    let Some(root) = storage.root_institution().await? else {
        return Err(AdminError::UnknownInstitution(branch.to_owned()));
    };
    let all = storage.branch(root.id).await?;
    if let Some(numbered) = branch.trim().parse::<i64>().ok().and_then(|n| all.iter().find(|i| i.id.0 == n)) {
        return Ok(numbered.clone());
    }
    let named: Vec<&Institution> = all.iter().filter(|i| i.name.as_str() == branch.trim()).collect();
    match named.as_slice() {
        [] => Err(AdminError::UnknownInstitution(branch.to_owned())),
        [one] => Ok((*one).clone()),
        several => Err(AdminError::AmbiguousInstitution {
            name: branch.trim().to_owned(),
            numbers: several.iter().map(|i| i.id.0.to_string()).collect::<Vec<_>>().join(", "),
        }),
    }
}

/// Creates `login`, Master over the branch of the institution `branch`, with a random password
/// returned to be shown once.
pub async fn create_master(storage: &dyn Storage, login_name: &str, branch: &str) -> Result<(Institution, Password), AdminError> {
    let name = LoginName::parse(login_name).map_err(|e| AdminError::BadLogin(login_name.to_owned(), e))?;
    let institution = institution(storage, branch).await?;
    let (password, hash) = new_password().await?;
    let id = storage.create_login(&name, &hash).await.map_err(|e| match e {
        StorageError::AlreadyExists => AdminError::LoginExists(name.to_string()),
        other => other.into(),
    })?;
    storage.set_master(id, Some(institution.id)).await?;
    tracing::info!(login = %name, institution = %institution.id, "Master login created from the command line");
    Ok((institution, password))
}

/// Lifts `login`'s sign-in delays; with `enable`, enables it if it was disabled.
pub async fn unlock(storage: &dyn Storage, login_name: &str, enable: bool) -> Result<Unlocked, AdminError> {
    let record = login(storage, login_name).await?;
    let delays_cleared = storage.clear_signin_throttle(&record.name).await?;
    let enabled = enable && record.disabled;
    if enabled {
        storage.set_login_disabled(record.id, false, app::ssr::now_millis()).await?;
    }
    tracing::info!(login = %record.name, delays_cleared, enabled, "login unlocked from the command line");
    Ok(Unlocked { delays_cleared, enabled, still_disabled: record.disabled && !enabled })
}
