//! Settings, read once from the environment at start.

use std::net::SocketAddr;
use std::path::PathBuf;

use app::ssr::client::{ClientTrust, SecureCookies};
use app::ssr::storage::{Millis, SessionLimits};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is not a valid address ({value}): expected host:port such as 127.0.0.1:3000")]
    BadAddress { name: &'static str, value: String },
    #[error("BILLETIX_TRUSTED_PROXIES: {0}")]
    BadProxy(#[from] app::ssr::client::BadProxy),
    #[error("BILLETIX_SECURE_COOKIES is {0:?}: expected 1 (always), 0 (never) or auto (when reached over https)")]
    BadSecureCookies(String),
    #[error("{name} is not a valid number of {unit} ({value}): expected a whole number from 1")]
    BadDuration { name: &'static str, unit: &'static str, value: String },
    #[error("BILLETIX_PUBLIC_URL is not an http(s) address ({0}): expected such as https://tickets.example.org")]
    BadPublicUrl(String),
}

/// A secret setting: its `Debug` hides it, so a `?config` in a log line shows no password or
/// key; `expose` is the one way to read it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// `sqlite:…` (default: a file in the data directory) or `postgres://…`.
    pub database_url: String,
    pub address: Option<SocketAddr>,
    pub data_dir: PathBuf,
    /// Password of the first Master login, used only when the database is empty.
    pub admin_password: Option<Secret>,
    /// Proxies believed about the client's address and https, and when cookies are `Secure`.
    pub client_trust: ClientTrust,
    /// Key sealing partner secrets (64 hex characters); else a key file in the data directory.
    pub secret_key: Option<Secret>,
    pub session_limits: SessionLimits,
    /// The app's origin as browsers see it (`https://host[:port]`), from `BILLETIX_PUBLIC_URL`.
    pub public_origin: Option<String>,
    /// Partners over https on public addresses only, unless `BILLETIX_ALLOW_PRIVATE_PARTNERS=1`.
    pub partner_addresses: crate::sources::AddressPolicy,
    /// The bearer token `/metrics` asks for (`BILLETIX_METRICS_TOKEN`); unset, it asks none.
    pub metrics_token: Option<Secret>,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let data_dir = PathBuf::from(var("BILLETIX_DATA_DIR").unwrap_or_else(|| "data".to_owned()));
        let database_url = var("DATABASE_URL")
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("billetix.db").display()));
        let address = match var("BILLETIX_ADDR") {
            Some(value) => Some(
                value.parse().map_err(|_| ConfigError::BadAddress { name: "BILLETIX_ADDR", value })?,
            ),
            None => None,
        };
        Ok(Self {
            database_url,
            address,
            data_dir,
            admin_password: var("BILLETIX_ADMIN_PASSWORD").map(Secret),
            client_trust: ClientTrust {
                proxies: ClientTrust::parse_proxies(&var("BILLETIX_TRUSTED_PROXIES").unwrap_or_default())?,
                secure_cookies: match var("BILLETIX_SECURE_COOKIES").as_deref().map(str::trim) {
                    None | Some("auto") => SecureCookies::WhenHttps,
                    Some("1" | "true") => SecureCookies::Always,
                    Some("0" | "false") => SecureCookies::Never,
                    Some(other) => return Err(ConfigError::BadSecureCookies(other.to_owned())),
                },
            },
            secret_key: var("BILLETIX_SECRET_KEY").map(Secret),
            session_limits: session_limits(&var)?,
            public_origin: var("BILLETIX_PUBLIC_URL").map(|url| public_origin(&url)).transpose()?,
            partner_addresses: match var("BILLETIX_ALLOW_PRIVATE_PARTNERS").is_some_and(|v| v == "1" || v == "true") {
                true => crate::sources::AddressPolicy::AllowPrivate,
                false => crate::sources::AddressPolicy::PublicHttps,
            },
            metrics_token: var("BILLETIX_METRICS_TOKEN").map(|token| Secret(token.trim().to_owned())),
        })
    }
}

/// `BILLETIX_SESSION_IDLE_HOURS` (default 12) and `BILLETIX_SESSION_MAX_DAYS` (default 7).
fn session_limits(var: &dyn Fn(&str) -> Option<String>) -> Result<SessionLimits, ConfigError> {
    const HOUR: Millis = 3600 * 1000;
    let read = |name: &'static str, unit: &'static str, unit_ms: Millis, default: Millis| match var(name) {
        None => Ok(default),
        Some(value) => value
            .trim()
            .parse::<u16>()
            .ok()
            .filter(|n| *n > 0)
            .map(|n| Millis::from(n) * unit_ms)
            .ok_or(ConfigError::BadDuration { name, unit, value }),
    };
    let defaults = SessionLimits::default();
    Ok(SessionLimits {
        idle: read("BILLETIX_SESSION_IDLE_HOURS", "hours", HOUR, defaults.idle)?,
        lifetime: read("BILLETIX_SESSION_MAX_DAYS", "days", 24 * HOUR, defaults.lifetime)?,
    })
}

/// `https://Tickets.example.org/` → `https://tickets.example.org`: an origin as a browser sends it.
fn public_origin(url: &str) -> Result<String, ConfigError> {
    let bad = || ConfigError::BadPublicUrl(url.to_owned());
    let parsed = reqwest::Url::parse(url.trim()).map_err(|_| bad())?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(bad());
    }
    Ok(parsed.origin().ascii_serialization())
}

/// The database URL without its password, for the log: the one before `@` and any
/// `password=` of the query (PostgreSQL takes both). An address that does not parse is not
/// shown beyond its scheme.
pub fn redacted(url: &str) -> String {
    const HIDDEN: &str = "***";
    let Ok(mut parsed) = reqwest::Url::parse(url) else {
        return url.split_once("://").map_or_else(|| HIDDEN.to_owned(), |(scheme, _)| format!("{scheme}://{HIDDEN}"));
    };
    if parsed.password().is_some() && parsed.set_password(Some(HIDDEN)).is_err() {
        return format!("{}://{HIDDEN}", parsed.scheme());
    }
    if parsed.query().is_some() {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(key, value)| {
                let value = if key.eq_ignore_ascii_case("password") { HIDDEN.into() } else { value };
                (key.into_owned(), value.into_owned())
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

#[cfg(test)]
mod tests {
    use super::{Secret, public_origin, redacted};

    #[test]
    fn secrets_do_not_show_in_debug() {
        let shown = format!("{:?}", Some(Secret("first-master-password".to_owned())));
        assert!(!shown.contains("first-master"), "{shown}");
        assert_eq!(Secret("k".to_owned()).expose(), "k");
    }

    #[test]
    fn a_public_url_gives_the_origin_browsers_send() {
        assert_eq!(public_origin("https://Tickets.example.org/").unwrap(), "https://tickets.example.org");
        assert_eq!(public_origin("https://tickets.example.org:443/app").unwrap(), "https://tickets.example.org");
        assert_eq!(public_origin("http://10.0.0.5:3000").unwrap(), "http://10.0.0.5:3000");
        assert!(public_origin("tickets.example.org").is_err());
        assert!(public_origin("ftp://tickets.example.org").is_err());
    }

    #[test]
    fn a_password_before_the_host_is_hidden() {
        let logged = redacted("postgres://billetix:s3cret@db:5432/billetix");
        assert!(!logged.contains("s3cret") && logged.ends_with("@db:5432/billetix"), "{logged}");
        assert_eq!(redacted("sqlite://data/billetix.db"), "sqlite://data/billetix.db");
        let logged = redacted("postgres://u:p@ss@db/x");
        assert!(!logged.contains("ss@") && !logged.contains("p%40ss"), "{logged}");
        assert_eq!(redacted("postgres://u:p/ss@db/x"), "postgres://***", "an unencoded / does not parse");
    }

    #[test]
    fn a_password_in_the_query_is_hidden() {
        let logged = redacted("postgres://db:5432/billetix?user=billetix&password=s3cret&sslmode=require");
        assert!(!logged.contains("s3cret"), "{logged}");
        assert!(logged.contains("sslmode=require"), "{logged}");
        let logged = redacted("postgresql://u:first@db/x?password=second");
        assert!(!logged.contains("first") && !logged.contains("second"), "{logged}");
        let logged = redacted("postgres://db/x?sslmode=disable&PASSWORD=third");
        assert!(!logged.contains("third"), "{logged}");
    }
}
