//! What a door needs to know of its performances (venue zone, filters, PDA box, place in the
//! institution tree) changes rarely but is read on every scan: each process keeps it a
//! moment. A change made in the back office reaches every door within `FRESH_FOR`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::ancestry_of;
use super::storage::{PerformanceContext, Storage};
use crate::authorization::Ancestry;
use crate::engine::PerformanceId;
use crate::error::AppError;

pub const FRESH_FOR: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
pub struct PerformancePlace {
    pub context: PerformanceContext,
    pub ancestry: Ancestry,
}

#[derive(Default)]
pub struct PerformanceCache {
    entries: Mutex<HashMap<PerformanceId, (Instant, Arc<PerformancePlace>)>>,
}

impl PerformanceCache {
    fn fresh(&self, id: PerformanceId) -> Option<Arc<PerformancePlace>> {
        let entries = self.entries.lock().ok()?;
        entries.get(&id).filter(|(at, _)| at.elapsed() < FRESH_FOR).map(|(_, place)| place.clone())
    }

    /// Drops what this process holds of a performance just changed here, so this process's
    /// doors see the change at once (other processes within `FRESH_FOR`).
    pub fn forget(&self, id: PerformanceId) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(&id);
        }
    }

    /// The performances in the order asked, from memory when fresh; `NotFound` if one is not.
    pub async fn get(&self, storage: &dyn Storage, ids: &[PerformanceId]) -> Result<Vec<Arc<PerformancePlace>>, AppError> {
        let mut places = Vec::with_capacity(ids.len());
        for id in ids {
            let place = match self.fresh(*id) {
                Some(place) => place,
                None => {
                    let context = storage.performance_contexts(&[*id]).await?.pop().ok_or(AppError::NotFound)?;
                    let ancestry = ancestry_of(storage, context.institution).await?;
                    let place = Arc::new(PerformancePlace { context, ancestry });
                    if let Ok(mut entries) = self.entries.lock() {
                        entries.insert(*id, (Instant::now(), place.clone()));
                    }
                    place
                }
            };
            places.push(place);
        }
        Ok(places)
    }
}
