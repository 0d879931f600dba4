//! The device's working copy (`billetix_core::sync::device`) as the app keeps it: a scan set
//! aside carries the server's error.

pub use billetix_core::sync::device::*;

use crate::error::AppError;

pub type DeviceScan = billetix_core::sync::device::DeviceScan<AppError>;
