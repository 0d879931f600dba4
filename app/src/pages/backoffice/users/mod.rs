//! The users tab: the logins of one institution, their rights, new and existing logins.
//!
//! `api` holds the server functions; `tab` the page, `member` one login's line, `forms` the
//! cards that create a login or add an existing one.

mod api;
mod forms;
mod member;
mod tab;

pub use api::*;
pub use tab::UsersTab;
