//! What travels between a scanner device and the server: online scans, the snapshot a device
//! imports, deltas since a cursor, and uploads of scans made offline. Every answer carries the
//! server's time so a device can measure its clock skew. The pure half (the messages, the
//! device's copy, scan ids) is in `billetix_core::sync`; here are the server functions and
//! the server's side.

pub mod api;
pub mod device;
pub mod online;
pub mod protocol;
#[cfg(feature = "ssr")]
pub mod service;

pub use billetix_core::sync::scan_id;
