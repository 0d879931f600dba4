//! The server half of the app crate: what server functions need to reach storage and to know
//! who is asking. Compiled only with the `ssr` feature.

pub mod actor_cache;
pub mod client;
pub mod guard;
pub mod kept;
pub mod live;
pub mod password;
pub mod performance_cache;
pub mod session;
pub mod signin_throttle;
pub mod sources;
pub mod storage;

use std::sync::Arc;

use crate::authorization::Ancestry;
use crate::domain::InstitutionId;
use crate::error::AppError;
use storage::{Storage, StorageError};

/// What every request handler is given by the server binary.
#[derive(Clone)]
pub struct ServerContext {
    pub storage: Arc<dyn Storage>,
    pub live: Arc<dyn live::LiveBus>,
    pub performances: Arc<performance_cache::PerformanceCache>,
    pub actors: Arc<actor_cache::ActorCache>,
    pub sources: Arc<dyn sources::SourceService>,
    /// Which proxies to believe about the client's address and https.
    pub client_trust: Arc<client::ClientTrust>,
    /// How long sessions live (`BILLETIX_SESSION_IDLE_HOURS`, `BILLETIX_SESSION_MAX_DAYS`).
    pub session_limits: storage::SessionLimits,
    /// The app's own origin (`https://host[:port]`), when configured: requests from any other
    /// are refused. Unset, each request's `Host` is taken as the app's.
    pub public_origin: Option<String>,
}

impl ServerContext {
    pub fn new(
        storage: Arc<dyn Storage>,
        live: Arc<dyn live::LiveBus>,
        sources: Arc<dyn sources::SourceService>,
    ) -> Self {
        Self {
            storage,
            live,
            performances: Arc::default(),
            actors: Arc::default(),
            sources,
            client_trust: Arc::default(),
            session_limits: storage::SessionLimits::default(),
            public_origin: None,
        }
    }

    pub fn with_client_trust(self, client_trust: client::ClientTrust) -> Self {
        Self { client_trust: Arc::new(client_trust), ..self }
    }

    pub fn with_session_limits(self, session_limits: storage::SessionLimits) -> Self {
        Self { session_limits, ..self }
    }

    pub fn with_public_origin(self, public_origin: Option<String>) -> Self {
        Self { public_origin, ..self }
    }
}

pub fn context() -> Result<ServerContext, AppError> {
    leptos::prelude::use_context::<ServerContext>().ok_or_else(|| {
        tracing::error!("ServerContext missing from the request context");
        AppError::Internal
    })
}

pub fn now_millis() -> storage::Millis {
    chrono::Utc::now().timestamp_millis()
}

impl From<StorageError> for AppError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound => AppError::NotFound,
            StorageError::AlreadyExists => AppError::AlreadyExists(String::new()),
            StorageError::Database(source) => {
                tracing::error!(error = %source, "storage failure");
                AppError::Internal
            }
            StorageError::Unavailable(source) => {
                tracing::warn!(error = %source, "database unavailable");
                AppError::Unavailable
            }
        }
    }
}

/// The ancestry of an institution, or `NotFound`.
pub async fn ancestry_of(storage: &dyn Storage, id: InstitutionId) -> Result<Ancestry, AppError> {
    Ancestry::new(storage.ancestry(id).await?).ok_or(AppError::NotFound)
}
