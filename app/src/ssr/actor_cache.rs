//! Who a door's session belongs to, kept a moment (`kept.rs`). A door scans several times a
//! second on one session, and asking the database each time was one of a scan's three round
//! trips. Only the scan endpoints read from here. A session started or ended, or rights
//! changed, in this process empties it at once; in another process, within `FRESH_FOR`.

use std::future::Future;

use billetix_core::authorization::Actor;

use super::kept::Kept;
use crate::error::AppError;

#[derive(Default)]
pub struct ActorCache {
    /// By session token hash.
    kept: Kept<String, Actor>,
}

impl ActorCache {
    /// The actor of a session (by token hash), from `read` (not started) when not kept: the
    /// session's reader stays with the sessions, which hold this cache in their context.
    pub async fn actor(&self, token_hash: &str, read: impl Future<Output = Result<Actor, AppError>>) -> Result<Actor, AppError> {
        if let Some(actor) = self.kept.fresh(token_hash) {
            return Ok(actor);
        }
        let reading = self.kept.before_reading();
        let actor = read.await?;
        self.kept.keep(reading, token_hash.to_owned(), actor.clone());
        Ok(actor)
    }

    /// After a change to sessions or rights: such changes are rare, so all go.
    pub fn forget_all(&self) {
        self.kept.forget_all();
    }
}
