//! Live push across server processes, and its server-sent-events endpoint.

mod postgres;
mod sse;

pub use postgres::PgBus;
pub use sse::{OpenFeeds, live_events};
