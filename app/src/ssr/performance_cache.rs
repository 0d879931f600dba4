//! What a door needs to know of its performances (venue zone, filters, PDA box, place in the
//! institution tree) changes rarely but is read on every scan: each process keeps it a
//! moment (`kept.rs`). A change made in the back office reaches every door within `FRESH_FOR`.

use std::sync::Arc;

use billetix_core::authorization::Ancestry;
use billetix_core::engine::PerformanceId;

use super::access::ancestry_of;
use super::kept::Kept;
use super::storage::{PerformanceContext, Storage};
use crate::error::AppError;

#[derive(Debug, Clone)]
pub struct PerformancePlace {
    pub context: PerformanceContext,
    pub ancestry: Ancestry,
}

#[derive(Default)]
pub struct PerformanceCache {
    kept: Kept<PerformanceId, Arc<PerformancePlace>>,
}

impl PerformanceCache {
    /// Drops what this process holds of a performance just changed here, so this process's
    /// doors see the change at once (other processes within `FRESH_FOR`).
    pub fn forget(&self, id: PerformanceId) {
        self.kept.forget(&id);
    }

    /// The performances in the order asked, from memory when fresh; `NotFound` if one is not.
    pub async fn get(&self, storage: &dyn Storage, ids: &[PerformanceId]) -> Result<Vec<Arc<PerformancePlace>>, AppError> {
        let mut places = Vec::with_capacity(ids.len());
        for id in ids {
            let place = match self.kept.fresh(id) {
                Some(place) => place,
                None => {
                    let reading = self.kept.before_reading();
                    let context = storage.performance_contexts(&[*id]).await?.pop().ok_or(AppError::NotFound)?;
                    let ancestry = ancestry_of(storage, context.institution).await?;
                    let place = Arc::new(PerformancePlace { context, ancestry });
                    self.kept.keep(reading, *id, place.clone());
                    place
                }
            };
            places.push(place);
        }
        Ok(places)
    }
}
