use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use app::ssr::ServerContext;
use leptos::prelude::get_configuration;
use server::sources::{self, scheduler::Partners, secrets::SecretBox};
use server::{bootstrap, config::Config, router, serve, storage};

/// How often each process looks for sources due for refresh, and for scans to push.
const REFRESHER_TICK: Duration = Duration::from_secs(5);
const PUSHER_TICK: Duration = Duration::from_secs(1);
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let config = Config::from_env().map_err(|e| e.to_string())?;
    let mut leptos_options = get_configuration(None).map_err(|e| format!("Leptos configuration: {e}"))?.leptos_options;
    if let Some(address) = config.address {
        leptos_options.site_addr = address;
    }
    let opened = storage::open(&config.database_url).await.map_err(|e| e.to_string())?;
    bootstrap::ensure_root(opened.storage.as_ref(), config.admin_password.as_deref()).await.map_err(|e| e.to_string())?;
    let secrets = match &config.secret_key {
        Some(key) => SecretBox::from_hex(key),
        None => SecretBox::from_file(&config.data_dir.join("secret.key")),
    }
    .map_err(|e| e.to_string())?;
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
        .map_err(|e| format!("cannot listen on {address}: {e}"))?;
    tracing::info!(%address, database = %server::config::redacted(&config.database_url), data_dir = %config.data_dir.display(), "Billetix listening on http://{address}");
    serve(listener, router(context, leptos_options)).await.map_err(|e| e.to_string())
}
