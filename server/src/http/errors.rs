//! Server functions' errors as HTTP answers: Leptos answers each with 500, and this gives it
//! the answer every other route gives the same `AppError` (its `IntoResponse`: the status
//! `AppError::http_status` says, `Retry-After` when due), so monitoring tells a refusal from a
//! fault.

use app::domain::ParseFailure;
use app::error::AppError;
use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// An error body larger than this is not one of ours.
const ERROR_BODY_LIMIT: usize = 1024 * 1024;

/// Leptos answers every server-function error with 500: this gives each its own status. A
/// request whose arguments did not decode comes back from the server-function layer as a
/// `Communication` error; it is the client's mistake, so it becomes 400 naming the arguments.
pub async fn server_function_statuses(request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    let response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, ERROR_BODY_LIMIT).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    match serde_json::from_slice::<AppError>(&bytes) {
        Ok(AppError::Communication(why)) => {
            tracing::info!(path = %parts.extensions.get::<axum::extract::OriginalUri>().map_or_else(String::new, |u| u.to_string()), %why, "server function arguments refused");
            AppError::InvalidInput { field: "arguments".to_owned(), reason: ParseFailure::BadCharacters }.into_response()
        }
        Ok(error) => error.into_response(),
        Err(_) => Response::from_parts(parts, Body::from(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header;

    #[test]
    fn a_refusal_is_not_a_fault() {
        assert_eq!(AppError::Forbidden.into_response().status(), StatusCode::FORBIDDEN);
        assert_eq!(AppError::Unavailable.into_response().status(), StatusCode::SERVICE_UNAVAILABLE);
        let delayed = AppError::TooManyAttempts { retry_after_secs: 8 }.into_response();
        assert_eq!(delayed.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(delayed.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("8"));
    }
}
