//! Which partner addresses the server may reach: in production https on public addresses only,
//! so a source's settings cannot turn the server against its own network or a cloud's metadata
//! service (security review, finding 6). Addresses are checked when a source is saved, when a
//! connector is made from stored settings (every refresh and push), when a name is resolved
//! for a connection, and at each redirect.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect::{Attempt, Policy};

/// Read once at start (`BILLETIX_ALLOW_PRIVATE_PARTNERS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressPolicy {
    /// https only, and no loopback, private, link-local, shared or metadata address.
    PublicHttps,
    /// Also http and private addresses: the stand-in partners of tests and benchmarks listen
    /// on http://127.0.0.1.
    AllowPrivate,
}

/// Redirects followed before giving up (reqwest's own default).
const MAX_REDIRECTS: usize = 10;

impl AddressPolicy {
    /// What can be told without the network: the scheme, and an address written as such.
    /// `Err` holds the cause, for the field's error.
    pub fn check(self, url: &Url) -> Result<(), String> {
        if self == Self::AllowPrivate {
            return Ok(());
        }
        if url.scheme() != "https" {
            return Err("must start with https://".to_owned());
        }
        match written_address(url) {
            Some(ip) if is_private(ip) => Err(format!("{ip} is a private or local address")),
            Some(_) => Ok(()),
            None if url.host_str().is_none_or(str::is_empty) => Err("has no host".to_owned()),
            None => Ok(()),
        }
    }

    /// [`check`](Self::check), then every address the host's name has now. A name that does
    /// not resolve now is let through: each connection resolves it again through
    /// [`PublicResolver`].
    pub async fn check_resolved(self, url: &Url) -> Result<(), String> {
        self.check(url)?;
        let (Self::PublicHttps, None, Some(name)) = (self, written_address(url), url.host_str()) else {
            return Ok(());
        };
        let port = url.port_or_known_default().unwrap_or(443);
        match tokio::net::lookup_host((name, port)).await {
            Ok(addresses) => match addresses.map(|a| a.ip()).find(|ip| is_private(*ip)) {
                Some(ip) => Err(format!("{name} leads to {ip}, a private or local address")),
                None => Ok(()),
            },
            Err(e) => {
                tracing::info!(%name, error = %e, "a partner's host name does not resolve now");
                Ok(())
            }
        }
    }

    /// The HTTP client's settings that hold at each request.
    pub fn apply(self, builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        match self {
            Self::AllowPrivate => builder,
            Self::PublicHttps => builder
                .https_only(true)
                .dns_resolver(std::sync::Arc::new(PublicResolver))
                .redirect(Policy::custom(redirect)),
        }
    }
}

/// The host when it is an address rather than a name (the URL parser writes every IPv4 form,
/// `0x7f000001` included, as dotted decimal, and IPv6 in brackets).
fn written_address(url: &Url) -> Option<IpAddr> {
    url.host_str()?.trim_start_matches('[').trim_end_matches(']').parse().ok()
}

/// A redirect is followed only to where a request could be made (names are checked by the
/// resolver when connecting).
fn redirect(attempt: Attempt) -> reqwest::redirect::Action {
    if attempt.previous().len() >= MAX_REDIRECTS {
        return attempt.error("too many redirects");
    }
    match AddressPolicy::PublicHttps.check(attempt.url()) {
        Ok(()) => attempt.follow(),
        Err(cause) => attempt.error(format!("redirected to an address that {cause}")),
    }
}

/// Resolves names with the system, keeping public addresses only: a name that points (or is
/// later pointed) at the server's own network cannot be reached.
pub struct PublicResolver;

impl Resolve for PublicResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(public_addresses(name.as_str().to_owned()))
    }
}

async fn public_addresses(host: String) -> Result<Addrs, Box<dyn std::error::Error + Send + Sync>> {
    let public: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.filter(|a| !is_private(a.ip())).collect();
    if public.is_empty() {
        return Err(format!("{host} has no public address").into());
    }
    Ok(Box::new(public.into_iter()))
}

/// Loopback, private, link-local (cloud metadata among them), shared (CGNAT), unspecified,
/// broadcast and multicast addresses; IPv4 written as IPv6 is judged as IPv4.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => private_v4(ip),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(v4) => private_v4(v4),
            None => private_v6(ip),
        },
    }
}

fn private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        // 0.0.0.0/8: "this network", which reaches the host itself.
        || a == 0
        // 100.64.0.0/10: shared address space (carrier-grade NAT).
        || (a == 100 && (b & 0xc0) == 64)
}

fn private_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        // fc00::/7: unique local (fd00:ec2::254, a cloud's metadata service, among them).
        || (first & 0xfe00) == 0xfc00
        // fe80::/10: link-local.
        || (first & 0xffc0) == 0xfe80
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).expect("an address")
    }

    #[test]
    fn private_and_local_addresses_are_told_apart_from_public_ones() {
        for private in [
            "127.0.0.1", "10.0.0.1", "172.16.5.4", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1",
            "100.127.255.255", "0.0.0.0", "0.1.2.3", "255.255.255.255", "224.0.0.1", "::1", "::", "fc00::1",
            "fd00:ec2::254", "fe80::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
        ] {
            assert!(is_private(private.parse().expect("an address")), "{private}");
        }
        for public in ["8.8.8.8", "172.32.0.1", "100.128.0.1", "100.63.255.255", "192.169.0.1", "2001:4860:4860::8888", "::ffff:8.8.8.8"] {
            assert!(!is_private(public.parse().expect("an address")), "{public}");
        }
    }

    #[test]
    fn production_takes_https_to_public_hosts_only() {
        let strict = AddressPolicy::PublicHttps;
        assert_eq!(strict.check(&url("https://api.shotgun.live/tickets")), Ok(()));
        assert_eq!(strict.check(&url("https://8.8.8.8/")), Ok(()));
        for refused in [
            "http://api.shotgun.live",
            "https://127.0.0.1:8443",
            "https://10.0.0.1",
            "https://169.254.169.254/latest/meta-data",
            "https://[fd00:ec2::254]",
            "https://[::ffff:127.0.0.1]",
            "https://0x7f000001",
        ] {
            assert!(strict.check(&url(refused)).is_err(), "{refused}");
        }
        assert_eq!(AddressPolicy::AllowPrivate.check(&url("http://127.0.0.1:3000")), Ok(()));
    }

    #[tokio::test]
    async fn names_are_checked_through_what_they_resolve_to() {
        let strict = AddressPolicy::PublicHttps;
        assert!(strict.check_resolved(&url("https://localhost:8443")).await.is_err());
        assert_eq!(AddressPolicy::AllowPrivate.check_resolved(&url("http://localhost:8443")).await, Ok(()));
        let resolved = PublicResolver.resolve("localhost".parse().expect("a name")).await;
        assert!(resolved.is_err(), "localhost has only loopback addresses");
    }

    #[tokio::test]
    async fn a_strict_client_does_not_connect_to_a_local_name() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let builder = reqwest::Client::builder().timeout(std::time::Duration::from_secs(1));
        let client = AddressPolicy::PublicHttps.apply(builder).build().expect("client");
        let sent = client.get(format!("https://localhost:{port}/")).send().await;
        assert!(sent.is_err());
        let accepted = tokio::time::timeout(std::time::Duration::from_millis(200), listener.accept()).await;
        assert!(accepted.is_err(), "no connection reached the listener");
    }
}
