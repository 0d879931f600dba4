//! First start on an empty database: create `root` and a first Master login.

use app::ssr::password;
use app::ssr::storage::{Storage, StorageError};
use app::domain::{InstitutionName, LoginName, Password};
use rand::Rng;
use rand::distributions::Alphanumeric;

pub const FIRST_MASTER_LOGIN: &str = "admin";

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error("BILLETIX_ADMIN_PASSWORD is not usable: {0}")]
    BadPassword(app::domain::ParseError),
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    #[error("hashing the first password failed")]
    Hash,
}

/// A new password of 20 letters and digits (119 bits), to be shown once.
pub fn random_password() -> Result<Password, app::domain::ParseError> {
    let random: String = rand::thread_rng().sample_iter(&Alphanumeric).take(20).map(char::from).collect();
    Password::parse(&random)
}

/// Does nothing when root exists; creating root twice is refused by the database itself, so
/// two processes starting at once on one PostgreSQL cannot both bootstrap.
pub async fn ensure_root(storage: &dyn Storage, admin_password: Option<&str>) -> Result<(), BootstrapError> {
    if storage.root_institution().await?.is_some() {
        return Ok(());
    }
    let (password, generated) = match admin_password {
        Some(given) => (Password::parse(given).map_err(BootstrapError::BadPassword)?, false),
        None => (random_password().map_err(BootstrapError::BadPassword)?, true),
    };
    let root_name = InstitutionName::parse("root").map_err(BootstrapError::BadPassword)?;
    let root = match storage.create_institution(None, &root_name).await {
        Ok(root) => root,
        Err(StorageError::AlreadyExists) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let login = LoginName::parse(FIRST_MASTER_LOGIN).map_err(BootstrapError::BadPassword)?;
    let hash = password::hash(&password).await.map_err(|_| BootstrapError::Hash)?;
    let id = storage.create_login(&login, &hash).await?;
    storage.set_master(id, Some(root.id)).await?;
    if generated {
        // Printed once, on purpose: it is the only way in to a fresh installation.
        tracing::warn!(login = FIRST_MASTER_LOGIN, password = password.expose(), "first Master login created; change this password");
    } else {
        tracing::info!(login = FIRST_MASTER_LOGIN, "first Master login created with BILLETIX_ADMIN_PASSWORD");
    }
    Ok(())
}
