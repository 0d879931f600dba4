//! The performance grid of an institution (SPEC §3): event, date, import end, gauge, counter,
//! PDA box; with forms to add venues, events and performances. Counters follow the scans live.
//!
//! `api` holds the server functions; `grid` the page, `row` one performance's line with its
//! `category_filters` and `gates`; the cards below it are `venue_form`, `event_form`, `rename_form` and
//! `performance_form`.

mod api;
mod category_filters;
mod event_form;
mod gates;
mod grid;
mod performance_form;
mod rename_form;
mod row;
mod venue_form;

pub use api::*;
pub use grid::PerformanceGrid;
