//! `GET /live?performances=1,2`: a server-sent-events stream of the scans of those
//! performances, for devices and back-office pages, for a signed-in login allowed to watch them.

use std::convert::Infallible;
use std::time::Duration;

use app::backend::ServerContext;
use app::backend::session::{COOKIE_NAME, actor_for_token};
use app::engine::PerformanceId;
use app::error::AppError;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use tokio::sync::broadcast::error::RecvError;

#[derive(serde::Deserialize)]
pub struct LiveQuery {
    performances: String,
}

fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_owned())
}

fn refuse(status: StatusCode, error: AppError) -> Response {
    (status, axum::Json(error)).into_response()
}

pub async fn live_events(State(context): State<ServerContext>, headers: HeaderMap, Query(query): Query<LiveQuery>) -> Response {
    let Ok(performances) = query
        .performances
        .split(',')
        .map(|p| p.trim().parse::<i64>().map(PerformanceId))
        .collect::<Result<Vec<_>, _>>()
    else {
        return refuse(StatusCode::BAD_REQUEST, AppError::NotFound);
    };
    let Some(token) = session_token(&headers) else {
        return refuse(StatusCode::UNAUTHORIZED, AppError::NotSignedIn);
    };
    let storage = context.storage.as_ref();
    let actor = match actor_for_token(&context, &token).await {
        Ok(actor) => actor,
        Err(e) => return refuse(StatusCode::UNAUTHORIZED, e),
    };
    if let Err(e) = app::sync::service::check_watch(storage, &context.performances, &actor, &performances).await {
        return refuse(StatusCode::FORBIDDEN, e);
    }
    let mut receiver = context.live.subscribe();
    let stream = async_stream::stream! {
        loop {
            match receiver.recv().await {
                Ok(event) if performances.contains(&event.performance) => {
                    if let Ok(data) = serde_json::to_string(&event) {
                        yield Ok::<_, Infallible>(Event::default().event("scan").data(data));
                    }
                }
                Ok(_) => {}
                // Fell behind: tell the watcher to catch up with a delta.
                Err(RecvError::Lagged(_)) => yield Ok(Event::default().event("resync").data("{}")),
                Err(RecvError::Closed) => break,
            }
        }
    };
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response()
}
