//! The server's integration tests, linked into one binary (one link instead of one per file):
//! the real server on a random port, on a fresh SQLite database and, when
//! `BILLETIX_TEST_POSTGRES_URL` is set, on a fresh PostgreSQL schema (`support`).

#[macro_use]
mod support;

mod accounts;
mod backoffice;
mod command_line;
mod engine_matches_server;
mod faults;
mod gates;
mod hostile_files;
mod kept_history;
mod http_edge;
mod operations;
mod partners;
mod performance_grid;
mod reports;
mod scanning;
mod sources;
mod statuses;
mod storage_contract;
mod two_processes;
