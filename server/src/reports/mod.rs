//! Reports outside the server functions: the .xlsx and CSV downloads.

pub mod export;
