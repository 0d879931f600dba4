//! What travels between a scanner device and the server: online scans, the snapshot a device
//! imports, deltas since a cursor, and uploads of scans made offline. Every answer carries the
//! server's time so a device can measure its clock skew. The pure half (the messages, the
//! device's copy, scan ids) is in `billetix_core::sync`; here are the server functions and
//! the server's side.

pub mod api;
pub mod online;
#[cfg(feature = "ssr")]
pub mod reflag;
#[cfg(feature = "ssr")]
pub mod service;

pub use billetix_core::sync::scan_id;

/// The device protocol (`billetix_core::sync::protocol`) as the app speaks it: an upload's
/// refusals carry the server's error.
pub mod protocol {
    pub use billetix_core::sync::protocol::*;

    use crate::error::AppError;

    pub type UploadOutcome = billetix_core::sync::protocol::UploadOutcome<AppError>;
    pub type UploadedScan = billetix_core::sync::protocol::UploadedScan<AppError>;
    pub type Uploaded = billetix_core::sync::protocol::Uploaded<AppError>;
}

/// The device's working copy (`billetix_core::sync::device`) as the app keeps it: a scan set
/// aside carries the server's error.
pub mod device {
    pub use billetix_core::sync::device::*;

    use crate::error::AppError;

    pub type DeviceScan = billetix_core::sync::device::DeviceScan<AppError>;
}

impl billetix_core::sync::protocol::UploadRefusal for crate::error::AppError {
    fn waits_for_its_login(&self) -> bool {
        matches!(self, crate::error::AppError::ScannedUnderAnotherLogin { .. })
    }
}
