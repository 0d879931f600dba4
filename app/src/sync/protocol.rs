//! The device protocol (`billetix_core::sync::protocol`) as the app speaks it: an upload's
//! refusals carry the server's error.

pub use billetix_core::sync::protocol::*;

use crate::error::AppError;

pub type UploadOutcome = billetix_core::sync::protocol::UploadOutcome<AppError>;
pub type UploadedScan = billetix_core::sync::protocol::UploadedScan<AppError>;
pub type Uploaded = billetix_core::sync::protocol::Uploaded<AppError>;
