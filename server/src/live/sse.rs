//! `GET /live?performances=1,2`: a server-sent-events stream of the scans of those
//! performances, for devices and back-office pages, for a signed-in login allowed to watch them.
//!
//! A feed stays open only while its session does: the session and the right to watch are read
//! again (through the caches of `ServerContext`) before each event and every `RECHECK_EVERY`,
//! and the feed ends when either is gone. It ends anyway after `LIFETIME`; the browser's
//! `EventSource` then opens a new one, which is checked as any new one.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::ssr::ServerContext;
use app::ssr::session::{SignedIn, door_actor_for_hash};
use app::domain::ParseFailure;
use app::engine::PerformanceId;
use app::sync::protocol::LIVE_MAX_PERFORMANCES;
use app::error::AppError;
use axum::extract::{Query, State};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use tokio::sync::broadcast::error::RecvError;

/// At most this many feeds open at once on one session (a page and a few tabs need a handful).
pub const MAX_FEEDS_PER_SESSION: usize = 8;
/// How often an idle feed checks that its session is live and still allowed to watch, and
/// writes a comment: a keep-alive, and how a feed whose client left is seen to be closed.
const RECHECK_EVERY: Duration = Duration::from_secs(3);
/// How long one feed lasts before the browser is made to open another.
const LIFETIME: Duration = Duration::from_secs(3600);

#[derive(serde::Deserialize)]
pub struct LiveQuery {
    performances: String,
}

/// The feeds open on each session (by token hash), counted by this process: several processes
/// sharing one PostgreSQL each allow `MAX_FEEDS_PER_SESSION`.
#[derive(Clone, Default)]
pub struct OpenFeeds(Arc<Mutex<HashMap<String, usize>>>);

/// One open feed, counted until dropped (the stream ends or the client goes).
struct FeedSlot {
    feeds: OpenFeeds,
    session: String,
}

impl OpenFeeds {
    fn open(&self, session: &str) -> Option<FeedSlot> {
        let mut open = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = open.entry(session.to_owned()).or_default();
        if *count >= MAX_FEEDS_PER_SESSION {
            return None;
        }
        *count += 1;
        metrics::gauge!(crate::metrics::LIVE_FEEDS).increment(1.0);
        Some(FeedSlot { feeds: self.clone(), session: session.to_owned() })
    }
}

impl Drop for FeedSlot {
    fn drop(&mut self) {
        metrics::gauge!(crate::metrics::LIVE_FEEDS).decrement(1.0);
        let mut open = self.feeds.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = open.get_mut(&self.session) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.session);
            }
        }
    }
}

/// Whether the session `session` (a token hash) is live and may still watch `performances`.
async fn still_allowed(context: &ServerContext, session: &str, performances: &[PerformanceId]) -> Result<(), AppError> {
    let storage = context.storage.as_ref();
    let actor = door_actor_for_hash(context, session).await?;
    app::sync::service::check_watch(storage, &context.performances, &actor, performances).await
}

pub async fn live_events(
    State(context): State<ServerContext>,
    State(feeds): State<OpenFeeds>,
    Query(query): Query<LiveQuery>,
    SignedIn { actor, session }: SignedIn,
) -> Result<Response, AppError> {
    let performances = query
        .performances
        .split(',')
        .map(|p| p.trim().parse::<i64>().map(PerformanceId))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| AppError::InvalidInput { field: "performances".to_owned(), reason: ParseFailure::BadCharacters })?;
    if performances.len() > LIVE_MAX_PERFORMANCES {
        return Err(AppError::InvalidInput { field: "performances".to_owned(), reason: ParseFailure::TooLong { max: LIVE_MAX_PERFORMANCES } });
    }
    app::sync::service::check_watch(context.storage.as_ref(), &context.performances, &actor, &performances).await?;
    // A feed whose client left is counted until its next keep-alive finds it gone.
    let slot = feeds.open(&session).ok_or(AppError::TooManyAttempts { retry_after_secs: RECHECK_EVERY.as_secs() })?;
    let mut receiver = context.live.subscribe();
    let stream = async_stream::stream! {
        let _slot = slot;
        let lifetime = tokio::time::sleep(LIFETIME);
        tokio::pin!(lifetime);
        let mut recheck = tokio::time::interval_at(tokio::time::Instant::now() + RECHECK_EVERY, RECHECK_EVERY);
        loop {
            let event = tokio::select! {
                received = receiver.recv() => match received {
                    Ok(event) if performances.contains(&event.performance) => {
                        let name = if event.rules_changed { "rules" } else { "scan" };
                        serde_json::to_string(&event).ok().map(|data| Event::default().event(name).data(data))
                    }
                    Ok(_) => continue,
                    // Fell behind: tell the watcher to catch up with a delta.
                    Err(RecvError::Lagged(_)) => Some(Event::default().event("resync").data("{}")),
                    Err(RecvError::Closed) => break,
                },
                _ = recheck.tick() => Some(Event::default().comment("")),
                _ = &mut lifetime => break,
            };
            if let Err(e) = still_allowed(&context, &session, &performances).await {
                tracing::info!(error = %e, "live feed ended: its session no longer watches");
                break;
            }
            if let Some(event) = event {
                yield Ok::<_, Infallible>(event);
            }
        }
    };
    Ok(Sse::new(stream).into_response())
}
