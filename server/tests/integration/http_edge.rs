//! The HTTP edge: requests from other sites refused, server functions only as JSON (but the
//! sign-in form posted before the app has loaded), no redirect to a Referer, security headers on
//! every answer, and live feeds that end with their session and are limited in number and size.

use crate::support;

use app::domain::LoginId;
use app::error::AppError;
use app::engine::PerformanceId;
use reqwest::{Method, StatusCode, header};
use serde_json::json;
use support::api::{SetLoginDisabled, SetPdaOpen, SignIn, SignOut, Whoami};
use support::world::World;
use support::{ADMIN_PASSWORD, PASSWORD, TestApp};

/// A performance closed for scanning, in a new institution with a scanner login `door` (its id).
async fn closed_performance(app: &TestApp) -> (PerformanceId, LoginId) {
    let built = World::new(app).door_login("door").build().await;
    (built.performance, built.logins["door"])
}

async fn pda_open(app: &TestApp, performance: PerformanceId) -> bool {
    app.storage.performance_contexts(&[performance]).await.expect("context")[0].pda_open
}

fn open_body(performance: PerformanceId) -> String {
    json!({"performance": performance, "open": true}).to_string()
}

async fn cross_site_calls_change_nothing(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let (performance, _) = closed_performance(&app).await;
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let json_call = || admin.request(Method::POST, "/api/set_pda_open").header(header::CONTENT_TYPE, "application/json").body(open_body(performance));

    let foreign_origin = json_call().header(header::ORIGIN, "https://evil.example").send().await.expect("sent");
    assert_eq!(foreign_origin.status(), StatusCode::FORBIDDEN);
    let same_site = json_call().header("sec-fetch-site", "same-site").send().await.expect("sent");
    assert_eq!(same_site.status(), StatusCode::FORBIDDEN, "another subdomain is another site");
    let cross_site = json_call().header("sec-fetch-site", "cross-site").send().await.expect("sent");
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    let text = admin
        .request(Method::POST, "/api/set_pda_open")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(open_body(performance))
        .send()
        .await
        .expect("sent");
    assert_eq!(text.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "a form can post text/plain");
    assert!(!pda_open(&app, performance).await, "none of them opened the performance");

    let own = json_call()
        .header(header::ORIGIN, app.base_url.as_str())
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .expect("sent");
    assert_eq!(own.status(), StatusCode::OK, "the app's own pages still call");
    assert!(pda_open(&app, performance).await);

    let export = admin
        .request(Method::GET, &format!("/export/report?performance={performance}&format=csv"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .expect("sent");
    assert_eq!(export.status(), StatusCode::FORBIDDEN, "a link from another site exports nothing");
    let upload = admin
        .request(Method::POST, &format!("/upload/source-file?performance={performance}&source=1&file_name=a.csv&dry_run=false"))
        .header(header::ORIGIN, "https://evil.example")
        .body("barcode\nX1\n")
        .send()
        .await
        .expect("sent");
    assert_eq!(upload.status(), StatusCode::FORBIDDEN);
}
on_both_backends!(cross_site_calls_change_nothing);

/// Behind a proxy, the app's origin is the configured address, not what `Host` says; and a
/// deployment behind TLS tells browsers to keep to it.
async fn the_public_url_is_the_only_origin(backend: support::Backend) {
    let public = "https://tickets.example.org";
    let configure = |context: app::ssr::ServerContext| {
        let trust = app::ssr::client::ClientTrust { secure_cookies: app::ssr::client::SecureCookies::Always, ..Default::default() };
        context.with_public_origin(Some(public.to_owned())).with_client_trust(trust)
    };
    let Some(app) = support::spawn_app_with(backend, configure).await else { return };
    let sign_in = |origin: &str| {
        app.client()
            .request(Method::POST, "/api/sign_in")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ORIGIN, origin)
            .body(json!({"login": "admin", "password": ADMIN_PASSWORD}).to_string())
            .send()
    };
    let from_host = sign_in(&app.base_url).await.expect("sent");
    assert_eq!(from_host.status(), StatusCode::FORBIDDEN, "the address the proxy reaches is not the app's");
    let from_public = sign_in(public).await.expect("sent");
    assert_eq!(from_public.status(), StatusCode::OK);
    assert_eq!(header_of(&from_public, "strict-transport-security"), "max-age=31536000");
}
on_both_backends!(the_public_url_is_the_only_origin);

/// A foreign page posting a form to `sign_in` would sign the browser into the attacker's login.
async fn sign_in_only_as_json(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let client = app.client();
    let form_like = client
        .request(Method::POST, "/api/sign_in")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(json!({"login": "admin", "password": ADMIN_PASSWORD}).to_string())
        .send()
        .await
        .expect("sent");
    assert_eq!(form_like.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(form_like.headers().get(header::SET_COOKIE).is_none(), "no session handed out");
    assert!(client.call(Whoami {}).await.is_err(), "not signed in");
    client.call(SignIn { login: "admin".into(), password: ADMIN_PASSWORD.into() }).await.expect("JSON signs in");
}
on_both_backends!(sign_in_only_as_json);

/// The sign-in form as a browser posts it before the app has loaded (password in the body):
/// from the app's own page it signs in and redirects home, or back to the form saying why; from
/// another site, without its origin or in another encoding, it hands out no session.
async fn sign_in_form_posted_by_the_page(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let post = |origin: Option<&str>, content_type: &str, password: &str| {
        let mut request = http
            .post(format!("{}/api/sign_in_form", app.base_url))
            .header(header::CONTENT_TYPE, content_type)
            .header(header::ACCEPT, "text/html")
            .body(format!("login=admin&password={password}"));
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        request.send()
    };
    let form = "application/x-www-form-urlencoded";
    let own = Some(app.base_url.as_str());

    let signed_in = post(own, form, ADMIN_PASSWORD).await.expect("sent");
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(header_of(&signed_in, "location"), "/backoffice");
    let cookie = header_of(&signed_in, "set-cookie").split(';').next().unwrap_or_default().to_owned();
    assert!(cookie.starts_with("billetix_session="), "a session: {cookie}");
    let me = http
        .post(format!("{}/api/whoami", app.base_url))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::COOKIE, cookie)
        .body("{}")
        .send()
        .await
        .expect("sent");
    assert_eq!(me.status(), StatusCode::OK, "the cookie is a live session");

    let wrong = post(own, form, "not-the-password").await.expect("sent");
    assert_eq!(wrong.status(), StatusCode::SEE_OTHER);
    assert_eq!(header_of(&wrong, "location"), "/signin?failed=credentials");
    assert!(wrong.headers().get(header::SET_COOKIE).is_none());

    for (origin, content_type, why) in [
        (Some("https://evil.example"), form, "another site"),
        (None, form, "no origin"),
        (own, "text/plain", "not a form's encoding"),
        (own, "application/json", "not a form's encoding"),
    ] {
        let refused = post(origin, content_type, ADMIN_PASSWORD).await.expect("sent");
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{why}");
        assert!(refused.headers().get(header::SET_COOKIE).is_none(), "{why}: no session handed out");
    }
}
on_both_backends!(sign_in_form_posted_by_the_page);

async fn no_redirect_to_the_referer(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    for function in ["whoami", "no_such_function"] {
        let response = http
            .post(format!("{}/api/{function}", app.base_url))
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "text/html")
            .header(header::REFERER, "https://evil.example/after")
            .body("{}")
            .send()
            .await
            .expect("sent");
        assert_ne!(response.status(), StatusCode::FOUND, "{function}");
        assert!(response.headers().get(header::LOCATION).is_none(), "{function}: {:?}", response.headers());
    }
    let response = admin
        .request(Method::POST, "/api/whoami")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "text/html")
        .header(header::REFERER, "https://evil.example/after")
        .body("{}")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get(header::LOCATION).is_none());
}
on_both_backends!(no_redirect_to_the_referer);

fn header_of<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

/// The nonce a page's policy allows, and every inline script of the page carrying it.
fn check_page_nonce(path: &str, policy: &str, html: &str) {
    let nonce = policy
        .split_whitespace()
        .find_map(|word| word.strip_prefix("'nonce-").and_then(|n| n.strip_suffix('\'')))
        .unwrap_or_else(|| panic!("{path}: no nonce in {policy}"));
    let mut inline_scripts = 0;
    for script in html.split("<script").skip(1) {
        let (attributes, rest) = script.split_once('>').unwrap_or((script, ""));
        let source = rest.split("</script>").next().unwrap_or_default();
        // leptos_i18n leaves an empty `<script>` as a placeholder: a browser runs nothing there.
        if attributes.contains(" src=") || source.trim().is_empty() {
            continue;
        }
        inline_scripts += 1;
        assert!(attributes.contains(&format!("nonce=\"{nonce}\"")), "{path}: inline script without the nonce: <script{attributes}>{source}");
    }
    assert!(inline_scripts > 0, "{path}: the hydration script is inline");
    assert!(!policy.contains("'unsafe-inline'") && !policy.contains("'unsafe-eval'"), "{policy}");
}

async fn every_answer_has_security_headers(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let (performance, _) = closed_performance(&app).await;
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let mut nonces = Vec::new();
    for path in ["/", "/signin", "/backoffice", "/scanner", "/account", "/no-such-page"] {
        let response = admin.request(Method::GET, path).send().await.expect("sent");
        let policy = header_of(&response, "content-security-policy").to_owned();
        for directive in ["default-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "'wasm-unsafe-eval'"] {
            assert!(policy.contains(directive), "{path}: {directive} missing in {policy:?}");
        }
        assert_eq!(header_of(&response, "cache-control"), "no-store", "{path}");
        check_common_headers(path, &response);
        let html = response.text().await.expect("page");
        check_page_nonce(path, &policy, &html);
        nonces.push(policy);
    }
    let again = admin.request(Method::GET, "/scanner").send().await.expect("sent");
    assert!(!nonces.contains(&header_of(&again, "content-security-policy").to_owned()), "a new nonce each time");

    let api = admin
        .request(Method::POST, "/api/whoami")
        .header(header::CONTENT_TYPE, "application/json")
        .body("{}")
        .send()
        .await
        .expect("sent");
    assert_eq!(api.status(), StatusCode::OK);
    check_common_headers("/api/whoami", &api);
    assert!(header_of(&api, "content-security-policy").contains("frame-ancestors 'none'"));
    assert_eq!(header_of(&api, "cache-control"), "no-store");
    let export = admin.request(Method::GET, &format!("/export/report?performance={performance}&format=csv")).send().await.expect("sent");
    assert_eq!(export.status(), StatusCode::OK);
    check_common_headers("/export/report", &export);
    assert_eq!(header_of(&export, "cache-control"), "no-store");
    let worker = admin.request(Method::GET, "/sw.js").send().await.expect("sent");
    check_common_headers("/sw.js", &worker);
    assert_eq!(header_of(&worker, "cache-control"), "no-cache", "the service worker's own rule stays");
    let feed = admin.get_stream(&format!("/live?performances={performance}")).await;
    check_common_headers("/live", &feed);
    assert_eq!(header_of(&feed, "cache-control"), "no-store");
}
on_both_backends!(every_answer_has_security_headers);

fn check_common_headers(path: &str, response: &reqwest::Response) {
    assert_eq!(header_of(response, "x-content-type-options"), "nosniff", "{path}");
    assert_eq!(header_of(response, "referrer-policy"), "same-origin", "{path}");
    assert_eq!(header_of(response, "x-frame-options"), "DENY", "{path}");
    assert!(header_of(response, "content-security-policy").contains("frame-ancestors 'none'"), "{path}");
    assert!(response.headers().get("strict-transport-security").is_none(), "{path}: plain HTTP here");
}

/// Reads the feed until the server ends it; panics if it is still open after `within`.
async fn ends_within(feed: &mut reqwest::Response, within: std::time::Duration, what: &str) {
    tokio::time::timeout(within, async {
        while let Ok(Some(_)) = feed.chunk().await {}
    })
    .await
    .unwrap_or_else(|_| panic!("the feed is still open {within:?} after {what}"));
}

async fn live_feeds_end_with_their_session(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let (performance, door) = closed_performance(&app).await;
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    admin.call(SetPdaOpen { performance, open: true }).await.expect("open");
    let path = format!("/live?performances={performance}");

    let leaving = app.signed_in("door", PASSWORD).await;
    let mut feed = leaving.get_stream(&path).await;
    leaving.call(SignOut {}).await.expect("sign out");
    ends_within(&mut feed, std::time::Duration::from_secs(8), "sign-out").await;

    let disabled = app.signed_in("door", PASSWORD).await;
    let mut feed = disabled.get_stream(&path).await;
    admin.call(SetLoginDisabled { login_id: door, disabled: true }).await.expect("disable");
    ends_within(&mut feed, std::time::Duration::from_secs(8), "the login was disabled").await;
    admin.call(SetLoginDisabled { login_id: door, disabled: false }).await.expect("enable");

    let closed = app.signed_in("door", PASSWORD).await;
    let mut feed = closed.get_stream(&path).await;
    admin.call(SetPdaOpen { performance, open: false }).await.expect("close");
    ends_within(&mut feed, std::time::Duration::from_secs(8), "the doors closed").await;
}
on_both_backends!(live_feeds_end_with_their_session);

async fn live_feeds_are_limited(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let (performance, _) = closed_performance(&app).await;
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let path = format!("/live?performances={performance}");
    let many_ids = vec![performance.to_string(); 65].join(",");
    let too_many_ids = admin.request(Method::GET, &format!("/live?performances={many_ids}")).send().await.expect("sent");
    assert_eq!(too_many_ids.status(), StatusCode::BAD_REQUEST, "65 performances on one feed");
    let mut open = Vec::new();
    for _ in 0..8 {
        open.push(admin.get_stream(&path).await);
    }
    let ninth = admin.request(Method::GET, &path).send().await.expect("sent");
    assert_eq!(ninth.status(), StatusCode::TOO_MANY_REQUESTS, "a ninth feed on one session");
    assert_eq!(header_of(&ninth, "retry-after"), "3", "when to ask again, as every 429 says");
    // The live feed answers its refusals as every route does (one `AppError` → status mapping).
    let anonymous = app.client().request(Method::GET, &path).send().await.expect("sent");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.json::<AppError>().await.ok(), Some(AppError::NotSignedIn));
    let not_a_number = admin.request(Method::GET, "/live?performances=one").send().await.expect("sent");
    assert_eq!(not_a_number.status(), StatusCode::BAD_REQUEST);
    let refused = not_a_number.json::<AppError>().await.ok();
    assert!(matches!(&refused, Some(AppError::InvalidInput { field, .. }) if field == "performances"), "{refused:?}");
    open.pop();
    // The server sees the connection closed when it next writes to it, at a keep-alive.
    let reopened = tokio::time::timeout(std::time::Duration::from_secs(15), async {
        loop {
            let response = admin.request(Method::GET, &path).send().await.expect("sent");
            if response.status() == StatusCode::OK {
                return response;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("a closed feed frees its place");
    drop((reopened, open));
}
on_both_backends!(live_feeds_are_limited);
