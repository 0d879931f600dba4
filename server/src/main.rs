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

/// Billetix: ticket access control. With no command, it serves the app (settings from the
/// environment: see the README); the commands below act on the database `DATABASE_URL` names
/// and exit.
#[derive(clap::Parser)]
#[command(name = "billetix", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Logins, without the back office.
    #[command(subcommand)]
    Admin(Admin),
    /// Applies the database migrations this build carries, and exits.
    Migrate,
    /// Copies the SQLite database, as it stands, into FILE (a new file) while the server runs.
    Backup {
        /// Where the copy goes; an existing file is refused.
        file: std::path::PathBuf,
    },
    /// Puts the SQLite backup FILE in place of the database; stop the server first. A backup
    /// of a newer schema than this build's is refused; an older one is brought up to date.
    Restore {
        /// A file `billetix backup` made.
        file: std::path::PathBuf,
    },
}

#[derive(clap::Subcommand)]
enum Admin {
    /// Gives LOGIN a new random password, printed once on the standard output; its sessions end.
    ResetPassword {
        /// The login's name.
        login: String,
    },
    /// Creates LOGIN, Master over the branch of an institution, with a random password printed
    /// once on the standard output.
    CreateMaster {
        /// The new login's name.
        login: String,
        /// The institution (its name, or its number) whose branch the Master manages; `root`
        /// for everything.
        #[arg(long)]
        branch: String,
    },
    /// Lifts LOGIN's sign-in delays (after too many wrong passwords).
    Unlock {
        /// The login's name.
        login: String,
        /// Also enables LOGIN if it was disabled.
        #[arg(long)]
        enable: bool,
    },
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
enum CommandError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Storage(#[from] storage::OpenError),
    #[error(transparent)]
    Admin(#[from] server::admin::AdminError),
    #[error(transparent)]
    Backup(#[from] server::backup::BackupError),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = <Cli as clap::Parser>::parse();
    let logs = tracing_subscriber::fmt().with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")));
    let outcome = match cli.command {
        None => {
            logs.init();
            run().await.map_err(|e| e.to_string())
        }
        // A command's standard output is its answer (a password): logs go to the error output.
        Some(command) => {
            logs.with_writer(std::io::stderr).init();
            command_line(command).await.map_err(|e| e.to_string())
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            ExitCode::FAILURE
        }
    }
}

async fn command_line(command: Command) -> Result<(), CommandError> {
    let config = Config::from_env()?;
    match command {
        // These two work on the file, without opening the storage (and its writers) on it.
        Command::Backup { file } => {
            let bytes = server::backup::backup(&config.database_url, &file).await?;
            eprintln!("backed up into {} ({bytes} bytes)", file.display());
        }
        Command::Restore { file } => {
            let kept = server::backup::restore(&config.database_url, &file).await?;
            eprintln!("restored from {}", file.display());
            if let Some(kept) = kept {
                eprintln!("the database it replaced is kept as {}", kept.display());
            }
        }
        Command::Migrate => {
            storage::open(&config.database_url).await?;
            eprintln!("the database's schema is up to date");
        }
        Command::Admin(admin) => {
            let opened = storage::open(&config.database_url).await?;
            admin_command(opened.storage.as_ref(), admin).await?;
        }
    }
    Ok(())
}

async fn admin_command(storage: &dyn app::ssr::storage::Storage, command: Admin) -> Result<(), server::admin::AdminError> {
    match command {
        Admin::ResetPassword { login } => {
            let password = server::admin::reset_password(storage, &login).await?;
            eprintln!("{login}: password replaced, sessions ended; the new password, shown this once:");
            println!("{}", password.expose());
        }
        Admin::CreateMaster { login, branch } => {
            let (institution, password) = server::admin::create_master(storage, &login, &branch).await?;
            eprintln!("{login}: Master over {} (number {}) created; its password, shown this once:", institution.name.as_str(), institution.id.0);
            println!("{}", password.expose());
        }
        Admin::Unlock { login, enable } => {
            let unlocked = server::admin::unlock(storage, &login, enable).await?;
            eprintln!("{login}: {} sign-in delays lifted", unlocked.delays_cleared);
            if unlocked.enabled {
                eprintln!("{login}: enabled again");
            }
            if unlocked.still_disabled {
                eprintln!("{login} is disabled: it cannot sign in until enabled (--enable, or the back office)");
            }
        }
    }
    Ok(())
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
