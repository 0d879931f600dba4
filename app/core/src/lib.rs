//! Billetix's core: the decision engine, the domain types, the access rules and the device
//! protocol. Pure (no I/O, no clock, no randomness, no Leptos), compiled into the server and
//! into the WASM scanner; its `Cargo.toml` is what keeps it so.

pub mod authorization;
pub mod domain;
pub mod engine;
pub mod ids;
pub mod sync;
