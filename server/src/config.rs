//! Settings, read once from the environment at start.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is not a valid address ({value}): expected host:port such as 127.0.0.1:3000")]
    BadAddress { name: &'static str, value: String },
    #[error("BILLETIX_PUBLIC_URL is not an http(s) address ({0}): expected such as https://tickets.example.org")]
    BadPublicUrl(String),
}

#[derive(Debug, Clone)]
pub struct Config {
    /// `sqlite:…` (default: a file in the data directory) or `postgres://…`.
    pub database_url: String,
    pub address: Option<SocketAddr>,
    pub data_dir: PathBuf,
    /// Password of the first Master login, used only when the database is empty.
    pub admin_password: Option<String>,
    pub secure_cookies: bool,
    /// Key sealing partner secrets (64 hex characters); else a key file in the data directory.
    pub secret_key: Option<String>,
    /// The app's origin as browsers see it (`https://host[:port]`), from `BILLETIX_PUBLIC_URL`.
    pub public_origin: Option<String>,
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
            admin_password: var("BILLETIX_ADMIN_PASSWORD"),
            secure_cookies: var("BILLETIX_SECURE_COOKIES").is_some_and(|v| v == "1" || v == "true"),
            secret_key: var("BILLETIX_SECRET_KEY"),
            public_origin: var("BILLETIX_PUBLIC_URL").map(|url| public_origin(&url)).transpose()?,
        })
    }
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

#[cfg(test)]
mod tests {
    use super::public_origin;

    #[test]
    fn a_public_url_gives_the_origin_browsers_send() {
        assert_eq!(public_origin("https://Tickets.example.org/").unwrap(), "https://tickets.example.org");
        assert_eq!(public_origin("https://tickets.example.org:443/app").unwrap(), "https://tickets.example.org");
        assert_eq!(public_origin("http://10.0.0.5:3000").unwrap(), "http://10.0.0.5:3000");
        assert!(public_origin("tickets.example.org").is_err());
        assert!(public_origin("ftp://tickets.example.org").is_err());
    }
}
