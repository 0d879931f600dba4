pub mod answers;
pub mod error_text;
pub mod header;
pub mod live;
pub mod session_gate;
