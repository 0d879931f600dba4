//! Where partners are spoken to. One connector per partner behind [`Connector`]; what a
//! partner's fields and states mean stays inside its module. Files are imported by
//! [`file`]; web services are refreshed by [`scheduler`] and pushed to by [`pusher`].

pub mod addresses;
pub mod billetweb;
pub mod eventbrite;
pub mod file;
#[cfg(test)]
mod file_proptests;
pub mod http;
pub mod pusher;
pub mod scheduler;
pub mod secrets;
pub mod secutix;
pub mod secutix_files;
pub mod service;
pub mod settings;
pub mod shotgun;
pub mod ticketnet;
pub mod tixngo;
pub mod upload;
pub mod values;
pub mod weezevent;

use std::time::Duration;

use app::ssr::storage::{ImportedTicket, PendingCancellation, PendingPush};
use app::domain::{FieldType, FieldValues, PartnerEvent, SourceKind};
use async_trait::async_trait;

pub use addresses::AddressPolicy;
pub use settings::SettingsError;

/// One page of tickets from a partner.
#[derive(Debug, Default)]
pub struct TicketPage {
    pub tickets: Vec<ImportedTicket>,
    /// Where the next pull starts: the next page, or the next refresh when `more` is false.
    pub cursor: Option<String>,
    pub more: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    #[error("{0}")]
    Settings(#[from] SettingsError),
    #[error("the partner refused the credentials (HTTP {0}): check the token or password")]
    Unauthorized(u16),
    #[error("the partner asks to slow down (HTTP 429); retrying in {} s", .retry_after.as_secs())]
    RateLimited { retry_after: Duration },
    #[error("the partner answered HTTP {0}")]
    Status(u16),
    #[error("the partner did not answer in time")]
    Timeout,
    #[error("cannot reach the partner: {0}")]
    Network(String),
    #[error("the partner's answer is not in the expected shape: {0}")]
    Malformed(String),
    #[error("the partner refused the request: {0}")]
    Refused(String),
    #[error("this source cannot do that")]
    Unsupported,
}

/// Progress of a long listing, as items seen so far.
pub type Progress<'a> = &'a (dyn Fn(u64) + Send + Sync);

#[async_trait]
pub trait Connector: Send + Sync {
    /// Checks a performance's options for this source (partner event id…).
    fn check_options(&self, options: &FieldValues) -> Result<(), SettingsError>;

    /// One page of the tickets of the attachment described by `options`, changed since
    /// `cursor` (`None`: all of them).
    async fn fetch_tickets(&self, options: &FieldValues, cursor: Option<&str>) -> Result<TicketPage, ConnectorError>;

    /// The partner's events, for automatic performance creation.
    async fn list_events(&self, _progress: Progress<'_>) -> Result<Vec<PartnerEvent>, ConnectorError> {
        Err(ConnectorError::Unsupported)
    }

    /// Whether scans of this attachment are to be pushed to the partner.
    fn pushes_scans(&self, _options: &FieldValues) -> bool {
        false
    }

    /// Whether refused scans are pushed too (the partner records failed controls).
    fn pushes_refusals(&self) -> bool {
        false
    }

    async fn push_scan(&self, _options: &FieldValues, _scan: &PendingPush) -> Result<(), ConnectorError> {
        Err(ConnectorError::Unsupported)
    }

    /// Whether cancellations of tickets the partner also holds are to be pushed to it.
    fn pushes_cancellations(&self, _options: &FieldValues) -> bool {
        false
    }

    /// Tells the partner a ticket it holds is cancelled (so a wallet removes it).
    async fn push_cancellation(&self, _options: &FieldValues, _ticket: &PendingCancellation) -> Result<(), ConnectorError> {
        Err(ConnectorError::Unsupported)
    }
}

/// How long a partner may take to answer one request.
pub const PARTNER_TIMEOUT: Duration = Duration::from_secs(30);

/// The HTTP client connectors share, and the partner addresses it may reach.
#[derive(Clone)]
pub struct PartnerHttp {
    pub client: reqwest::Client,
    pub addresses: AddressPolicy,
}

/// The HTTP client for partners could not be set up (its TLS backend, say).
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the HTTP client: {0}")]
pub struct HttpClientError(#[from] reqwest::Error);

pub fn http_client(addresses: AddressPolicy) -> Result<PartnerHttp, HttpClientError> {
    http_client_with_timeout(PARTNER_TIMEOUT, addresses)
}

pub fn http_client_with_timeout(timeout: Duration, addresses: AddressPolicy) -> Result<PartnerHttp, HttpClientError> {
    let builder = reqwest::Client::builder().timeout(timeout).user_agent(concat!("Billetix/", env!("CARGO_PKG_VERSION")));
    let client = addresses.apply(builder).build()?;
    Ok(PartnerHttp { client, addresses })
}

/// The connector of a web-service source, from its parameters and (opened) secrets.
pub fn connector(
    kind: SourceKind,
    settings: &FieldValues,
    secrets: &FieldValues,
    http: &PartnerHttp,
) -> Result<Box<dyn Connector>, ConnectorError> {
    let mut values = settings.clone();
    values.extend(secrets.iter().map(|(k, v)| (k.clone(), v.clone())));
    if !kind.is_file() {
        check_addresses(kind, &values, http.addresses)?;
    }
    let http = &http.client;
    match kind {
        SourceKind::Shotgun => Ok(Box::new(shotgun::Shotgun::new(&values, http.clone())?)),
        SourceKind::Weezevent => Ok(Box::new(weezevent::Weezevent::new(&values, http.clone())?)),
        SourceKind::Billetweb => Ok(Box::new(billetweb::Billetweb::new(&values, http.clone())?)),
        SourceKind::Eventbrite => Ok(Box::new(eventbrite::Eventbrite::new(&values, http.clone())?)),
        SourceKind::Secutix => Ok(Box::new(secutix::Secutix::new(&values, http.clone())?)),
        SourceKind::Tixngo => Ok(Box::new(tixngo::Tixngo::new(&values, http.clone())?)),
        SourceKind::File | SourceKind::SecutixReseller | SourceKind::SecutixWhitelist | SourceKind::Ticketnet => {
            Err(ConnectorError::Unsupported)
        }
    }
}

/// Every address of a web-service source (its default when left empty) as `addresses` allows:
/// stored settings are checked again whenever a connector is made from them.
fn check_addresses(kind: SourceKind, values: &FieldValues, addresses: AddressPolicy) -> Result<(), SettingsError> {
    let fields = settings::Fields::check(values, kind.fields())?;
    for field in kind.fields().iter().filter(|f| f.field_type == FieldType::Url) {
        if let Some(url) = fields.url_opt(field.name)? {
            addresses.check(&url).map_err(|cause| SettingsError::new(field.name, cause))?;
        }
    }
    Ok(())
}
