//! The Billetix server: storage, the HTTP surface (pages and server functions) and start-up.

pub mod admin;
pub mod backup;
pub mod bootstrap;
pub mod config;
pub mod housekeeping;
pub mod http;
pub mod live;
pub mod metrics;
pub mod offline;
pub mod reports;
pub mod sources;
pub mod storage;

use std::net::SocketAddr;

use app::ssr::ServerContext;
use app::{App, shell};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::IntoResponse;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list, handle_server_fns_with_context};
use tower_http::compression::CompressionLayer;

/// Every request allocates and frees a few dozen small buffers on whichever worker thread runs
/// it; mimalloc's per-thread heaps do that without the lock contention and consolidation passes
/// of the system allocator. Set here, it serves every binary that links the server.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Clone, axum::extract::FromRef)]
struct AppState {
    leptos_options: LeptosOptions,
    context: ServerContext,
    worker: offline::WorkerScript,
    feeds: live::OpenFeeds,
    metrics_access: metrics::MetricsAccess,
}

async fn server_fn_handler(State(state): State<AppState>, request: Request<Body>) -> impl IntoResponse {
    let context = state.context.clone();
    handle_server_fns_with_context(move || provide_context(context.clone()), request).await
}

/// Every route of the app: server functions under `/api`, the live feed, pages, then static
/// files; requests from other sites refused, and security headers on every answer (`http`);
/// `/metrics` open to whoever reaches it.
pub fn router(context: ServerContext, leptos_options: LeptosOptions) -> Router {
    router_with(context, leptos_options, metrics::MetricsAccess::default())
}

/// As `router`, with `/metrics` for whom `metrics_access` allows.
pub fn router_with(context: ServerContext, leptos_options: LeptosOptions, metrics_access: metrics::MetricsAccess) -> Router {
    metrics::handle();
    let routes = generate_route_list(App);
    let worker = offline::WorkerScript::new(&leptos_options);
    let state = AppState {
        leptos_options: leptos_options.clone(),
        context: context.clone(),
        worker,
        feeds: live::OpenFeeds::default(),
        metrics_access,
    };
    let edge_context = context.clone();
    let page_context = move || {
        provide_context(context.clone());
        http::headers::page_policy();
    };
    Router::new()
        .route("/api/{*fn_name}", axum::routing::post(server_fn_handler).get(server_fn_handler))
        .route("/live", axum::routing::get(live::live_events))
        .route("/health/live", axum::routing::get(http::health::live))
        .route("/health/ready", axum::routing::get(http::health::ready))
        .route("/metrics", axum::routing::get(metrics::metrics))
        .route("/sw.js", axum::routing::get(offline::service_worker))
        .route("/export/report", axum::routing::get(reports::export::export))
        .route(
            "/upload/source-file",
            axum::routing::post(sources::upload::upload)
                .layer(axum::extract::DefaultBodyLimit::max(sources::upload::BODY_LIMIT)),
        )
        .leptos_routes_with_context(
            &state,
            routes,
            page_context.clone(),
            {
                let options = leptos_options.clone();
                move || shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(page_context, shell))
        .layer(axum::middleware::from_fn(http::errors::server_function_statuses))
        .layer(axum::middleware::from_fn(metrics::count_upload_bytes))
        .layer(axum::middleware::from_fn_with_state(edge_context.clone(), http::origin::refuse_cross_site))
        .layer(CompressionLayer::new().compress_when(worth_compressing()))
        .layer(axum::middleware::from_fn_with_state(edge_context, http::headers::add_security_headers))
        .with_state(state)
}

/// Snapshots, reports and pages, not a scan's answer of a hundred bytes: setting up a brotli
/// encoder costs more than sending those bytes as they are, at every scan of every door.
fn worth_compressing() -> impl tower_http::compression::Predicate {
    use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
    SizeAbove::new(1024).and(NotForContentType::GRPC).and(NotForContentType::IMAGES).and(NotForContentType::SSE)
}

/// Serves `router` on `listener` until the process is stopped.
pub async fn serve(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<()> {
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await
}
