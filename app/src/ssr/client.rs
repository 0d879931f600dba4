//! Who the client is, as far as the network says: its address (for sign-in throttling) and
//! whether it reached us over https (for `Secure` cookies). Headers a client writes itself are
//! believed only when the direct peer is a proxy the operator named (`BILLETIX_TRUSTED_PROXIES`).

use std::net::IpAddr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// When the session cookie is marked `Secure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecureCookies {
    /// Whenever the request came over https (as a trusted proxy says): plain http on loopback
    /// keeps working for development, and a browser behind TLS gets a `Secure` cookie.
    #[default]
    WhenHttps,
    Always,
    Never,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientTrust {
    pub proxies: Vec<IpNet>,
    pub secure_cookies: SecureCookies,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not an address or network: {0:?} (expected e.g. 10.0.0.5 or 10.0.0.0/8)")]
pub struct BadProxy(pub String);

impl ClientTrust {
    /// Proxies as written in the setting: addresses or networks separated by commas or spaces.
    pub fn parse_proxies(list: &str) -> Result<Vec<IpNet>, BadProxy> {
        list.split([',', ' '])
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| BadProxy(item.to_owned()))
            })
            .collect()
    }

    fn is_trusted(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.proxies.iter().any(|net| net.contains(&address))
    }

    /// The client's address: the peer's, or, when the peer is a trusted proxy, the nearest
    /// address in `X-Forwarded-For` that is not itself a trusted proxy (the ones further left
    /// were written by whoever sent the request, and prove nothing).
    pub fn client_address(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = canonical(peer?);
        if !self.is_trusted(peer) {
            return Some(peer);
        }
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .map(|hop| hop.parse::<IpAddr>().ok())
            .collect::<Option<Vec<_>>>()
            .unwrap_or_default();
        Some(forwarded.into_iter().rev().map(canonical).find(|hop| !self.is_trusted(*hop)).unwrap_or(peer))
    }

    /// Whether the browser reached us over https: only a trusted proxy can say so, as the
    /// server itself speaks plain http.
    pub fn is_https(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> bool {
        peer.is_some_and(|peer| self.is_trusted(peer))
            && headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
    }

    pub fn cookie_is_secure(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> bool {
        match self.secure_cookies {
            SecureCookies::Always => true,
            SecureCookies::Never => false,
            SecureCookies::WhenHttps => self.is_https(peer, headers),
        }
    }
}

/// `::ffff:10.0.0.1` is 10.0.0.1: a dual-stack listener shows IPv4 peers that way.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().expect("header value"));
        }
        map
    }

    fn trust(proxies: &str) -> ClientTrust {
        ClientTrust { proxies: ClientTrust::parse_proxies(proxies).expect("proxies"), ..ClientTrust::default() }
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().expect("ip"))
    }

    #[test]
    fn forwarded_addresses_count_only_from_a_trusted_proxy() {
        let forged = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(trust("").client_address(ip("198.51.100.7"), &forged), ip("198.51.100.7"));
        assert_eq!(trust("10.0.0.0/8").client_address(ip("198.51.100.7"), &forged), ip("198.51.100.7"));
        assert_eq!(trust("10.0.0.0/8").client_address(ip("10.1.2.3"), &forged), ip("203.0.113.9"));
        assert_eq!(trust("10.1.2.3").client_address(ip("::ffff:10.1.2.3"), &forged), ip("203.0.113.9"));
    }

    #[test]
    fn the_nearest_untrusted_hop_is_the_client() {
        // The client wrote a first address itself; our two proxies appended theirs.
        let chain = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.9, 10.0.0.2")]);
        assert_eq!(trust("10.0.0.0/8").client_address(ip("10.0.0.1"), &chain), ip("203.0.113.9"));
        let garbage = headers(&[("x-forwarded-for", "not an address")]);
        assert_eq!(trust("10.0.0.0/8").client_address(ip("10.0.0.1"), &garbage), ip("10.0.0.1"));
    }

    #[test]
    fn https_is_believed_from_trusted_proxies_only() {
        let https = headers(&[("x-forwarded-proto", "https")]);
        assert!(trust("127.0.0.1").cookie_is_secure(ip("127.0.0.1"), &https));
        assert!(!trust("").cookie_is_secure(ip("127.0.0.1"), &https));
        assert!(!trust("127.0.0.1").cookie_is_secure(ip("127.0.0.1"), &HeaderMap::new()));
        let always = ClientTrust { secure_cookies: SecureCookies::Always, ..ClientTrust::default() };
        assert!(always.cookie_is_secure(None, &HeaderMap::new()));
    }

    #[test]
    fn proxies_parse_or_name_what_is_wrong() {
        assert_eq!(ClientTrust::parse_proxies("10.0.0.0/8, 192.168.1.4 ::1").map(|p| p.len()), Ok(3));
        assert_eq!(ClientTrust::parse_proxies("10.0.0.0/8,proxy"), Err(BadProxy("proxy".into())));
    }
}
