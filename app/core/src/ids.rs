//! Every id and the one time format, in one place: stored numbers, typed so one kind of id
//! cannot be passed for another.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($name:ident) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(InstitutionId);
id_type!(LoginId);
id_type!(VenueId);
id_type!(EventId);
id_type!(PerformanceId);
id_type!(SourceId);
id_type!(GateId);

/// Milliseconds since the Unix epoch: the one time format of the wire, the devices and both
/// databases.
pub type Millis = i64;
