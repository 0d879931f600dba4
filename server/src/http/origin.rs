//! Cross-site requests refused on what acts or reads with the session: `/api/*` (server
//! functions), `/upload/*` and `/export/*`. The session cookie is `SameSite=Strict`, but a
//! same-site host (another subdomain) or an old browser still sends it; and a form on any page
//! can post `text/plain` a server function would decode as JSON (login CSRF through `sign_in`).

use app::ssr::ServerContext;
use app::domain::ParseFailure;
use app::error::AppError;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The one server function a browser posts as a form (`sign_in_form`: the sign-in page before
/// the app has loaded). Its requests must name their origin, which every browser does for a
/// form's POST, so only the app's own pages reach it.
const FORM_ENDPOINT: &str = "/api/sign_in_form";

/// Paths whose requests must come from the app's own pages.
fn guarded(path: &str) -> bool {
    ["/api/", "/upload/", "/export/"].iter().any(|prefix| path.starts_with(prefix))
}

pub async fn refuse_cross_site(State(context): State<ServerContext>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if !guarded(path) {
        return next.run(request).await;
    }
    // HTTP/2 carries the host in the address rather than in a `Host` header.
    let host = request.headers().get(header::HOST).and_then(|v| v.to_str().ok()).or(request.uri().authority().map(|a| a.as_str()));
    if !from_own_pages(request.headers(), host, context.public_origin.as_deref()) {
        // Behind a proxy that rewrites `Host`, every request lands here until BILLETIX_PUBLIC_URL is set.
        tracing::warn!(path, origin = ?request.headers().get(header::ORIGIN), host, "cross-site request refused");
        return (StatusCode::FORBIDDEN, axum::Json(AppError::Forbidden)).into_response();
    }
    let form = path == FORM_ENDPOINT;
    if form && (request.headers().get(header::ORIGIN).is_none() || !is_form(request.headers())) {
        tracing::warn!(path, "sign-in form without its origin or encoding refused");
        return (StatusCode::FORBIDDEN, axum::Json(AppError::Forbidden)).into_response();
    }
    if path.starts_with("/api/") {
        // Every other server function declares `input = Json`: no other body is one of ours, and
        // only JSON needs a CORS preflight a foreign page cannot pass.
        if request.method() == Method::POST && !form && !is_json(request.headers()) {
            let error = AppError::InvalidInput { field: "Content-Type".to_owned(), reason: ParseFailure::BadCharacters };
            return (StatusCode::UNSUPPORTED_MEDIA_TYPE, axum::Json(error)).into_response();
        }
        // leptos_axum answers a request accepting HTML with a redirect to its `Referer`, for
        // forms without JavaScript; the app has none, and that redirect could go anywhere.
        let headers = request.headers_mut();
        headers.remove(header::REFERER);
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    }
    next.run(request).await
}

/// Whether the request comes from the app's pages: its `Origin`, when sent, is the app's, and
/// the browser does not say it comes from another site. Clients that send neither (the tests,
/// scripts, a typed address) pass: they carry no one else's cookie.
fn from_own_pages(headers: &HeaderMap, host: Option<&str>, public_origin: Option<&str>) -> bool {
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if site.is_some_and(|site| site.eq_ignore_ascii_case("cross-site") || site.eq_ignore_ascii_case("same-site")) {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    match public_origin {
        Some(own) => origin.eq_ignore_ascii_case(own),
        None => {
            let without_scheme = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
            matches!((host, without_scheme), (Some(host), Some(rest)) if rest.eq_ignore_ascii_case(host))
        }
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    content_type_is(headers, "application/json")
}

fn is_form(headers: &HeaderMap) -> bool {
    content_type_is(headers, "application/x-www-form-urlencoded")
}

fn content_type_is(headers: &HeaderMap, expected: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(name, value)| (header::HeaderName::from_static(name), HeaderValue::from_static(value))).collect()
    }

    #[test]
    fn own_origin_is_the_host_or_the_configured_url() {
        let own = |pairs: &[(&'static str, &'static str)], public| from_own_pages(&headers(pairs), Some("127.0.0.1:3000"), public);
        assert!(own(&[], None));
        assert!(own(&[("origin", "http://127.0.0.1:3000")], None));
        assert!(own(&[("origin", "https://127.0.0.1:3000")], None));
        assert!(!own(&[("origin", "http://127.0.0.1:3001")], None));
        assert!(!own(&[("origin", "null")], None));
        assert!(!own(&[("origin", "https://evil.example")], None));
        let public = Some("https://tickets.example.org");
        assert!(own(&[("origin", "https://tickets.example.org")], public));
        assert!(!own(&[("origin", "http://127.0.0.1:3000")], public));
    }

    #[test]
    fn another_site_is_refused_whatever_its_origin() {
        let own = |pairs: &[(&'static str, &'static str)]| from_own_pages(&headers(pairs), Some("127.0.0.1:3000"), None);
        assert!(!own(&[("sec-fetch-site", "cross-site")]));
        assert!(!own(&[("sec-fetch-site", "same-site")]));
        assert!(own(&[("sec-fetch-site", "same-origin")]));
        assert!(own(&[("sec-fetch-site", "none")]));
    }

    #[test]
    fn only_json_is_a_server_function_body() {
        assert!(is_json(&headers(&[("content-type", "application/json")])));
        assert!(is_json(&headers(&[("content-type", "Application/JSON; charset=utf-8")])));
        assert!(!is_json(&headers(&[("content-type", "text/plain")])));
        assert!(!is_json(&headers(&[("content-type", "application/x-www-form-urlencoded")])));
        assert!(!is_json(&headers(&[])));
        assert!(is_form(&headers(&[("content-type", "application/x-www-form-urlencoded")])));
        assert!(!is_form(&headers(&[("content-type", "multipart/form-data; boundary=x")])));
    }
}
