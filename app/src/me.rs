//! Who is signed in: read by every page to choose where to go.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use billetix_core::domain::{InstitutionId, LoginId, LoginName};

use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    /// What a scanner tags its scans with, so only this login uploads them.
    pub id: LoginId,
    pub login: LoginName,
    pub master_of: Option<InstitutionId>,
    pub root_master: bool,
    /// Back-office access somewhere (a Master always has it).
    pub backoffice: bool,
    /// May scan somewhere.
    pub pda: bool,
    pub last_institution: Option<InstitutionId>,
}

impl Me {
    /// Where this login lands after signing in.
    pub fn home_path(&self) -> &'static str {
        if self.backoffice { "/backoffice" } else { "/account" }
    }
}

#[server(endpoint = "whoami", input = leptos::server_fn::codec::Json)]
pub async fn whoami() -> Result<Me, AppError> {
    use crate::ssr::{context, session::current_actor};
    let storage = context()?.storage;
    let actor = current_actor().await?;
    let login = storage.login(actor.login_id).await?.ok_or(AppError::NotSignedIn)?;
    let root = storage.root_institution().await?.map(|r| r.id);
    Ok(Me {
        id: actor.login_id,
        login: login.name,
        master_of: actor.master_of,
        root_master: root.is_some_and(|root| actor.is_root_master(root)),
        backoffice: actor.master_of.is_some() || actor.memberships.iter().any(|(_, r)| r.backoffice),
        pda: actor.master_of.is_some() || actor.memberships.iter().any(|(_, r)| r.pda),
        last_institution: login.last_institution,
    })
}

#[server(endpoint = "sign_out", input = leptos::server_fn::codec::Json)]
pub async fn sign_out() -> Result<(), AppError> {
    crate::ssr::session::sign_out_current().await
}
