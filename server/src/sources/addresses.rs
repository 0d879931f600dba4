//! Which partner addresses the server may reach: in production https on public addresses only,
//! so a source's settings cannot turn the server against its own network (security review,
//! finding 6).

/// Read once at start (`BILLETIX_ALLOW_PRIVATE_PARTNERS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressPolicy {
    /// https only, and no loopback, private, link-local, shared or metadata address.
    PublicHttps,
    /// Also http and private addresses: the stand-in partners of tests and benchmarks listen
    /// on http://127.0.0.1.
    AllowPrivate,
}
