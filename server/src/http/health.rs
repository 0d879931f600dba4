//! `GET /health/live` and `GET /health/ready`, for load balancers and orchestrators: JSON, no
//! sign-in, and nothing in them but whether this process can serve.

use std::time::Duration;

use app::ssr::ServerContext;
use app::ssr::storage::SchemaState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A database slower than this to answer one small read is not ready for doors either.
pub const READY_WITHIN: Duration = Duration::from_secs(1);

/// The process answers.
pub async fn live() -> Response {
    answer(StatusCode::OK, json!({ "status": "live" }))
}

/// The database answers within `READY_WITHIN` and its schema is this build's; 503 otherwise.
pub async fn ready(State(context): State<ServerContext>) -> Response {
    let (database, migrations) = match tokio::time::timeout(READY_WITHIN, context.storage.schema_state()).await {
        Ok(Ok(state)) => ("ok", Some(state)),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the database did not answer");
            ("error", None)
        }
        Err(_) => {
            tracing::warn!(within = ?READY_WITHIN, "readiness: the database did not answer in time");
            ("timeout", None)
        }
    };
    let ready = migrations == Some(SchemaState::Current);
    answer(
        if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE },
        json!({
            "status": if ready { "ready" } else { "not_ready" },
            "database": database,
            "migrations": migrations.map_or("unknown", SchemaState::as_str),
        }),
    )
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
