//! What travels between a scanner device and the server: online scans, the snapshot a device
//! imports, deltas since a cursor, and uploads of scans made offline. Every answer carries the
//! server's time so a device can measure its clock skew.

pub mod api;
pub mod device;
pub mod online;
pub mod protocol;
#[cfg(feature = "ssr")]
pub mod reflag;
pub mod scan_id;
#[cfg(feature = "ssr")]
pub mod service;
