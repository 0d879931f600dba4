use serde::{Deserialize, Serialize};

/// A login's flags in one institution (SPEC §2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rights {
    pub admin: bool,
    pub pda: bool,
    pub backoffice: bool,
}
