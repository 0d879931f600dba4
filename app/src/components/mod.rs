pub mod error_text;
pub mod header;
pub mod session_gate;
