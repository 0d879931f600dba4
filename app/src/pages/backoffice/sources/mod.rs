//! Sources (SPEC §3, §5): the institution's sources tab (add, edit, delete, a form per kind)
//! and, on each performance, its attached sources (attach with options, detach, refresh now,
//! last refresh and its result, ticket counts, a file upload with a check before import).
//!
//! `api` holds the server functions; `tab` and `source_form` the tab; `panel`, `attachment`
//! and `upload` a performance's box; `fields` the inputs both forms draw from a kind's spec.

mod api;
mod attachment;
mod fields;
mod panel;
mod source_form;
mod tab;
mod upload;

pub use api::*;
pub use panel::PerformanceSourcesPanel;
pub use tab::SourcesTab;
