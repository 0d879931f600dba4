//! Security headers on every answer, and the content security policy pages run under: only the
//! app's own scripts, plus the inline scripts Leptos writes into each page, which carry the
//! page's nonce (a new one per request, made by leptos_axum).

use app::ssr::ServerContext;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;

/// The policy for a page whose inline scripts carry `nonce`, or for any other answer (workers
/// take theirs from their script's answer). `'wasm-unsafe-eval'` lets the app and the barcode
/// decoder compile their WebAssembly; the camera's stream plays from a `MediaStream`.
pub fn policy(nonce: Option<&str>) -> String {
    let nonce = nonce.map(|n| format!(" 'nonce-{n}'")).unwrap_or_default();
    // `cargo leptos watch` reloads pages through a WebSocket on another port.
    let reload = if std::env::var_os("LEPTOS_WATCH").is_some() { " ws: wss:" } else { "" };
    format!(
        "default-src 'self'; script-src 'self'{nonce} 'wasm-unsafe-eval'; worker-src 'self'; \
         connect-src 'self'{reload}; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; \
         style-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
}

/// Called while Leptos renders a page: the page's policy names the nonce of its scripts.
pub fn page_policy() {
    let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<ResponseOptions>()) else {
        return;
    };
    match HeaderValue::from_str(&policy(Some(&nonce))) {
        Ok(value) => response.insert_header(header::CONTENT_SECURITY_POLICY, value),
        Err(e) => tracing::error!(error = %e, "content security policy not a header value"),
    }
}

pub async fn add_security_headers(State(context): State<ServerContext>, request: Request, next: Next) -> Response {
    let private_path = ["/api/", "/export/"].iter().any(|p| request.uri().path().starts_with(p)) || request.uri().path() == "/live";
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        if let Ok(value) = HeaderValue::from_str(&policy(None)) {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
        }
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    let always_secure = context.client_trust.secure_cookies == app::ssr::client::SecureCookies::Always;
    if always_secure || context.public_origin.as_deref().is_some_and(|o| o.starts_with("https://")) {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    // Pages carry the login's names and institutions, answers its data: no cache keeps them.
    // Hashed static files (`/pkg`) stay cacheable.
    if private_path || is_html(headers) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

fn is_html(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"))
}

