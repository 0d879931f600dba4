use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use app::ssr::ServerContext;
use leptos::config::errors::LeptosConfigError;
use leptos::prelude::get_configuration;
use server::config::{Config, ConfigError};
use server::sources::secrets::{SecretBox, SecretKeyError};
use server::sources::{self, HttpClientError, scheduler::Partners};
use server::{bootstrap, router_with, serve, storage};
use tracing_subscriber::EnvFilter;

/// How often each process looks for sources due for refresh, and for scans to push.
const REFRESHER_TICK: Duration = Duration::from_secs(5);
const PUSHER_TICK: Duration = Duration::from_secs(1);

/// Why the server did not start, or stopped: each step's own error, said once in the log.
#[derive(Debug, thiserror::Error)]
enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("Leptos configuration: {0}")]
    Leptos(#[from] LeptosConfigError),
    #[error(transparent)]
    Storage(#[from] storage::OpenError),
    #[error(transparent)]
    Bootstrap(#[from] bootstrap::BootstrapError),
    #[error(transparent)]
    SecretKey(#[from] SecretKeyError),
    #[error(transparent)]
    PartnerHttp(#[from] HttpClientError),
    #[error("cannot listen on {address}: {source}")]
    Listen { address: SocketAddr, source: std::io::Error },
    #[error("the server stopped: {0}")]
    Serve(#[source] std::io::Error),
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), StartError> {
    let config = Config::from_env()?;
    let mut leptos_options = get_configuration(None)?.leptos_options;
    if let Some(address) = config.address {
        leptos_options.site_addr = address;
    }
    let opened = storage::open(&config.database_url).await?;
    bootstrap::ensure_root(opened.storage.as_ref(), config.admin_password.as_ref().map(|p| p.expose())).await?;
    let secrets = match &config.secret_key {
        Some(key) => SecretBox::from_hex(key.expose()),
        None => SecretBox::from_file(&config.data_dir.join("secret.key")),
    }?;
    let partners = Partners::new(opened.storage.clone(), secrets, sources::http_client(config.partner_addresses)?);
    partners.clone().spawn_refresher(REFRESHER_TICK);
    partners.clone().spawn_pusher(PUSHER_TICK);
    server::housekeeping::spawn_daily_purge(opened.storage.clone(), partners.owner.clone());
    let context = ServerContext::new(opened.storage, opened.live, Arc::new(partners))
        .with_client_trust(config.client_trust)
        .with_session_limits(config.session_limits)
        .with_public_origin(config.public_origin.clone());
    let address = leptos_options.site_addr;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|source| StartError::Listen { address, source })?;
    tracing::info!(%address, database = %server::config::redacted(&config.database_url), data_dir = %config.data_dir.display(), "Billetix listening on http://{address}");
    let metrics_access = server::metrics::MetricsAccess { token: config.metrics_token.clone() };
    serve(listener, router_with(context, leptos_options, metrics_access)).await.map_err(StartError::Serve)
}
