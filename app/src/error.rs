//! The one error type server functions return; it crosses the wire as JSON so the UI can
//! show each case in the person's language.

use serde::{Deserialize, Serialize};
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};

use billetix_core::domain::{ParseError, ParseFailure};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum AppError {
    #[error("not signed in")]
    NotSignedIn,
    #[error("this login signed in elsewhere; this session has ended")]
    SignedInElsewhere,
    #[error("wrong login or password")]
    WrongCredentials,
    #[error("this login is disabled")]
    LoginDisabled,
    #[error("too many sign-in attempts; try again in {retry_after_secs} s")]
    TooManyAttempts { retry_after_secs: u64 },
    #[error("you do not have the right to do this")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("this performance is not open for scanning (tick PDA in the back office)")]
    ClosedForScanning,
    /// An uploaded scan made under another login than the one signed in: it waits on its
    /// device for that login, never recorded under this one.
    #[error("scanned under login {login}: it is sent when {login} signs in again")]
    ScannedUnderAnotherLogin { login: String },
    #[error("invalid {field}: {reason}")]
    InvalidInput { field: String, reason: ParseFailure },
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// Detaching a source whose tickets hold passes: say how many, and ask again with them.
    #[error("this source's tickets hold {passes} passes; confirm to detach it")]
    DetachNeedsConfirmation { passes: u64 },
    /// A source's parameter is wrong: which one and why.
    #[error("source setting {field}: {cause}")]
    SourceSettings { field: String, cause: String },
    /// The partner failed (network, credentials, answer); the message says how.
    #[error("the partner failed: {0}")]
    Partner(String),
    #[error("the file is larger than {max_mb} MB")]
    FileTooLarge { max_mb: u64 },
    #[error("the file cannot be read: {0}")]
    FileUnreadable(String),
    /// Rows refused by an import (nothing was imported), by line; `more` were not listed.
    #[error("{} rows rejected", rows.len() as u64 + more)]
    FileRejected { rows: Vec<billetix_core::domain::RejectedRow>, more: u64 },
    /// The database did not answer in time (restarting, overloaded): try again shortly.
    #[error("the server cannot reach its database; try again in a moment")]
    Unavailable,
    #[error("server error; it has been logged")]
    Internal,
    #[error("could not reach the server: {0}")]
    Communication(String),
}

impl AppError {
    /// The HTTP status every answer carrying this error gets, decided here once: monitoring
    /// tells a refusal from a fault, and a client an error it should fix from one to retry.
    pub fn http_status(&self) -> u16 {
        match self {
            AppError::InvalidInput { .. } | AppError::SourceSettings { .. } => 400,
            AppError::NotSignedIn | AppError::SignedInElsewhere | AppError::WrongCredentials | AppError::LoginDisabled => 401,
            AppError::Forbidden => 403,
            AppError::NotFound => 404,
            AppError::ClosedForScanning | AppError::ScannedUnderAnotherLogin { .. } | AppError::AlreadyExists(_) | AppError::DetachNeedsConfirmation { .. } => 409,
            AppError::FileTooLarge { .. } => 413,
            AppError::FileUnreadable(_) | AppError::FileRejected { .. } => 422,
            AppError::TooManyAttempts { .. } => 429,
            AppError::Partner(_) => 502,
            AppError::Unavailable => 503,
            AppError::Internal | AppError::Communication(_) => 500,
        }
    }

    /// Seconds to wait before asking again, when the error says.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            AppError::TooManyAttempts { retry_after_secs } => Some(*retry_after_secs),
            AppError::Unavailable => Some(5),
            _ => None,
        }
    }
}

/// The one HTTP answer for an error, whatever route gives it (server functions through
/// `server::http::errors`, the export, the upload, the live feed): its status, `Retry-After`
/// when it says when to come back, and the error as JSON for the UI to word.
#[cfg(feature = "ssr")]
impl axum::response::IntoResponse for AppError {
    fn into_response(self) -> axum::response::Response {
        use axum::http::{HeaderValue, StatusCode, header};
        let status = StatusCode::from_u16(self.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry_after = self.retry_after_secs();
        let mut response = (status, axum::Json(self)).into_response();
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<ParseError> for AppError {
    fn from(e: ParseError) -> Self {
        AppError::InvalidInput { field: e.field.to_owned(), reason: e.reason }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Communication(value.to_string())
    }
}
