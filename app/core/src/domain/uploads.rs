//! The answer to a file upload (`POST /upload/source-file`), read by the back office.

use serde::{Deserialize, Serialize};

use super::{FilePreview, ImportSummary};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadAnswer {
    pub preview: FilePreview,
    /// Tickets read from the file.
    pub tickets: u64,
    /// What the import did; `None` for a check (dry run).
    pub imported: Option<ImportSummary>,
}
