//! What every answer goes through at the edge: requests from other sites refused (`origin`),
//! security headers and the content security policy added (`headers`), errors given their
//! HTTP status (`errors`); and the operators' endpoints (`health`).

pub mod errors;
pub mod headers;
pub mod health;
pub mod origin;
