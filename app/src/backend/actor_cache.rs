//! Who a door's session belongs to, kept a moment. A door scans several times a second on
//! one session, and asking the database each time was one of a scan's three round trips.
//! Only the scan endpoints read from here. A session started or ended, or rights changed,
//! in this process empties it at once; in another process, within `FRESH_FOR` (as
//! performance settings, `performance_cache.rs`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use super::performance_cache::FRESH_FOR;
use super::session::actor_for_hash;
use super::storage::Storage;
use crate::authorization::Actor;
use crate::error::AppError;

/// Past this many sessions, stale ones are swept out on the next insert.
const SWEEP_ABOVE: usize = 4_096;

#[derive(Default)]
pub struct ActorCache {
    /// By session token hash.
    entries: Mutex<HashMap<String, (Instant, Actor)>>,
}

impl ActorCache {
    pub async fn actor(&self, storage: &dyn Storage, token_hash: &str) -> Result<Actor, AppError> {
        if let Some(actor) = self.fresh(token_hash) {
            return Ok(actor);
        }
        let actor = actor_for_hash(storage, token_hash).await?;
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() > SWEEP_ABOVE {
                entries.retain(|_, (at, _)| at.elapsed() < FRESH_FOR);
            }
            entries.insert(token_hash.to_owned(), (Instant::now(), actor.clone()));
        }
        Ok(actor)
    }

    fn fresh(&self, token_hash: &str) -> Option<Actor> {
        let entries = self.entries.lock().ok()?;
        entries.get(token_hash).filter(|(at, _)| at.elapsed() < FRESH_FOR).map(|(_, actor)| actor.clone())
    }

    /// After a change to sessions or rights: such changes are rare, so all go.
    pub fn forget_all(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}
