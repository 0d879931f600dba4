//! The composition root: every part a request handler may need, built once by the server
//! binary and handed to each request through Leptos' context; and the server's clock.

use std::sync::Arc;

use billetix_core::ids::Millis;

use super::storage::{SessionLimits, Storage};
use super::{actor_cache, client, live, performance_cache, sources};
use crate::error::AppError;

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
    pub session_limits: SessionLimits,
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
            session_limits: SessionLimits::default(),
            public_origin: None,
        }
    }

    pub fn with_client_trust(self, client_trust: client::ClientTrust) -> Self {
        Self { client_trust: Arc::new(client_trust), ..self }
    }

    pub fn with_session_limits(self, session_limits: SessionLimits) -> Self {
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

pub fn now_millis() -> Millis {
    chrono::Utc::now().timestamp_millis()
}
