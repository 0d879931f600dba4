//! Who a door's session belongs to, kept a moment (`kept.rs`). A door scans several times a
//! second on one session, and asking the database each time was one of a scan's three round
//! trips. Only the scan endpoints read from here. A session started or ended, or rights
//! changed, in this process empties it at once; in another process, within `FRESH_FOR`.

use super::kept::Kept;
use super::session::actor_for_hash;
use super::ServerContext;
use crate::authorization::Actor;
use crate::error::AppError;

#[derive(Default)]
pub struct ActorCache {
    /// By session token hash.
    kept: Kept<String, Actor>,
}

impl ActorCache {
    pub async fn actor(&self, context: &ServerContext, token_hash: &str) -> Result<Actor, AppError> {
        if let Some(actor) = self.kept.fresh(token_hash) {
            return Ok(actor);
        }
        let reading = self.kept.before_reading();
        let actor = actor_for_hash(context, token_hash).await?;
        self.kept.keep(reading, token_hash.to_owned(), actor.clone());
        Ok(actor)
    }

    /// After a change to sessions or rights: such changes are rare, so all go.
    pub fn forget_all(&self) {
        self.kept.forget_all();
    }
}
