//! The device protocol's pure half: what travels between a scanner and the server, the
//! device's working copy, and scan ids. The server functions and the server's side of it
//! stay in the `app` crate (`app::sync`).

pub mod device;
pub mod protocol;
pub mod scan_id;
