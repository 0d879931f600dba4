//! The server-only half of the app crate (Leptos' `ssr`): what server functions need to
//! reach storage and to know who is asking. Compiled only with the `ssr` feature. The server
//! binary builds a [`ServerContext`] (`context.rs`, the composition root) from these parts.
//! Each part imports the others from where they are defined, not through these re-exports,
//! so the modules here depend on one another without a cycle.

pub mod access;
pub mod actor_cache;
pub mod client;
pub mod context;
pub mod kept;
pub mod live;
pub mod metrics;
pub mod password;
pub mod performance_cache;
pub mod session;
pub mod signin_throttle;
pub mod sources;
pub mod storage;
pub mod writes;

pub use context::{ServerContext, context, now_millis};
pub use access::ancestry_of;
/// The access guards' former name, still used by the export and upload routes and the sign-in page.
pub use access as guard;
