//! What the people who run Billetix use over HTTP: `/health/live`, `/health/ready` and
//! `/metrics`.

use crate::support;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

async fn get(url: &str) -> (StatusCode, Value) {
    let answer = reqwest::Client::new().get(url).timeout(Duration::from_secs(10)).send().await.expect("request reaches the server");
    let status = answer.status();
    let body = answer.json().await.expect("a JSON answer");
    (status, body)
}

/// Runs `statement` on the database at `url` as another client would (`checksum` bound as `$1`).
async fn execute(url: &str, statement: &str, checksum: Option<Vec<u8>>) {
    use sqlx::Connection;
    macro_rules! run {
        ($connection:expr) => {{
            let query = sqlx::query(statement);
            let query = match checksum { Some(bytes) => query.bind(bytes), None => query };
            query.execute(&mut $connection).await.expect(statement);
        }};
    }
    if url.starts_with("sqlite") {
        let mut connection = sqlx::SqliteConnection::connect(url).await.expect("connect");
        run!(connection)
    } else {
        let mut connection = sqlx::PgConnection::connect(url).await.expect("connect");
        run!(connection)
    }
}

/// A migration no build of this commit knows, as a newer Billetix would have recorded it.
const NEWER_MIGRATION: i64 = 99_990_101_000_000;

async fn health_says_whether_the_database_serves_this_build(backend: support::Backend) {
    let Some(url) = support::fresh_database_url(backend).await else { return };
    let app = support::spawn_app_on(&url).await;
    let (live, ready) = (format!("{}/health/live", app.base_url), format!("{}/health/ready", app.base_url));
    assert_eq!(get(&live).await, (StatusCode::OK, json!({ "status": "live" })));
    assert_eq!(get(&ready).await, (StatusCode::OK, json!({ "status": "ready", "database": "ok", "migrations": "applied" })));

    // A newer Billetix migrated the database, and this one was put back in front of it.
    execute(
        &url,
        &format!("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES ({NEWER_MIGRATION}, 'newer', TRUE, $1, 0)"),
        Some(vec![0; 48]),
    )
    .await;
    assert_eq!(get(&ready).await, (StatusCode::SERVICE_UNAVAILABLE, json!({ "status": "not_ready", "database": "ok", "migrations": "newer" })));
    assert_eq!(get(&live).await.0, StatusCode::OK, "the process still answers");
    execute(&url, &format!("UPDATE _sqlx_migrations SET success = FALSE WHERE version = {NEWER_MIGRATION}"), None).await;
    assert_eq!(get(&ready).await.1["migrations"], "failed");
    execute(&url, &format!("DELETE FROM _sqlx_migrations WHERE version = {NEWER_MIGRATION}"), None).await;
    assert_eq!(get(&ready).await.0, StatusCode::OK);
}
on_both_backends!(health_says_whether_the_database_serves_this_build);

/// PostgreSQL restarting (a proxy cuts every connection and refuses new ones): ready answers
/// 503 within its second, live still answers, and ready is back once the database is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_follows_a_postgresql_outage() {
    let Some(url) = support::fresh_database_url(support::Backend::Postgres).await else { return };
    let proxy = support::DatabaseProxy::start(&url).await;
    let app = support::spawn_app_on(&proxy.url).await;
    let (live, ready) = (format!("{}/health/live", app.base_url), format!("{}/health/ready", app.base_url));
    assert_eq!(get(&ready).await.0, StatusCode::OK);

    proxy.cut();
    let asked = Instant::now();
    let (status, body) = get(&ready).await;
    let took = asked.elapsed();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["status"], "not_ready");
    assert!(took < Duration::from_millis(1_500), "ready answered after {took:?}");
    assert_eq!(get(&live).await.0, StatusCode::OK);

    proxy.restore();
    let restored = Instant::now();
    while get(&ready).await.0 != StatusCode::OK {
        assert!(restored.elapsed() < Duration::from_secs(10), "not ready 10 s after the database came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The schema dropped under a running server (a restore gone wrong): not ready.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_fails_when_the_schema_is_gone() {
    let Some(url) = support::fresh_database_url(support::Backend::Postgres).await else { return };
    let app = support::spawn_app_on(&url).await;
    let ready = format!("{}/health/ready", app.base_url);
    assert_eq!(get(&ready).await.0, StatusCode::OK);
    let schema = url.rsplit("search_path%3D").next().expect("a test schema").to_owned();
    execute(&url, &format!("DROP SCHEMA {schema} CASCADE"), None).await;
    assert_eq!(get(&ready).await, (StatusCode::SERVICE_UNAVAILABLE, json!({ "status": "not_ready", "database": "error", "migrations": "unknown" })));
}

/// The figures of `/metrics`: the sum of the samples of `name` carrying every label given.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' '))
        .filter(|(series, _)| series.split('{').next() == Some(name))
        .filter(|(series, _)| labels.iter().all(|(key, value)| series.contains(&format!("{key}=\"{value}\""))))
        .map(|(_, value)| value.parse::<f64>().expect("a number"))
        .sum()
}

async fn metrics_text(base_url: &str) -> String {
    let answer = reqwest::get(format!("{base_url}/metrics")).await.expect("request reaches the server");
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(answer.headers()[reqwest::header::CONTENT_TYPE].to_str().expect("type").starts_with("text/plain"));
    answer.text().await.expect("text")
}

/// Scans, an upload, sign-ins, a live feed, a refresh and a push pass move their figures. The
/// recorder is the process's, shared by every test running at once: each figure is checked to
/// have moved at least as much as this test made it.
async fn metrics_count_what_the_doors_and_partners_do(backend: support::Backend) {
    use app::domain::SourceKind;
    use app::engine::{Direction, Mode, TicketState, Verdict};
    use app::sync::protocol::{DecidedBy, DeviceReason, Door, OfflineScan, ScanRequest};
    use support::api::{AttachSource, SaveSource, Scan, SignIn, SyncUpload};

    let Some(app) = support::spawn_app(backend).await else { return };
    let world = support::world::World::new(&app)
        .tickets(&[("M1", TicketState::Valid, "g"), ("M2", TicketState::Valid, "g")])
        .pda_open()
        .door_login("gatekeeper7")
        .build()
        .await;
    let before = metrics_text(&app.base_url).await;

    let refused = app.client().call(SignIn { login: "gatekeeper7".into(), password: "not the password".into() }).await;
    assert!(refused.is_err());
    let door = app.signed_in("gatekeeper7", support::PASSWORD).await;
    let single = Door { performances: vec![world.performance], mode: Mode::SinglePass, gate: None };
    for (id, barcode) in [("m1", "M1"), ("m1-again", "M1"), ("m-none", "NONE")] {
        let request = ScanRequest { scan_id: id.into(), barcode: barcode.into(), device: "gate".into(), client_time: 0, door: single.clone() };
        door.call(Scan { request }).await.expect("scan");
    }
    let offline = OfflineScan {
        scan_id: "m2-offline".into(),
        barcode: "M2".into(),
        device: "gate".into(),
        scanned_at: app::ssr::now_millis(),
        door: Door { performances: vec![world.performance], mode: Mode::EntryExit { direction: Direction::In }, gate: None },
        device_verdict: Verdict::Accepted { direction: Direction::In },
        decided: DecidedBy::Device { why: DeviceReason::Offline },
        clock_skew_ms: None,
        login: None,
    };
    door.call(SyncUpload { scans: vec![offline] }).await.expect("upload");
    let _feed = door.get_stream(&format!("/live?performances={}", world.performance)).await;

    let weez = standins::weezevent::WeezeventStandIn::start("org@example.org", "wz-password", "wz-key").await.expect("stand-in");
    weez.put(standins::weezevent::WeezeventStandIn::participant(1, 900, "WZ1", "Normal"));
    let (institution, performance) = (world.institution, world.admin.another_performance(world.institution).await);
    let settings = support::fields([("username", "org@example.org"), ("api_url", &weez.url), ("requests_per_minute", "0")]);
    let secrets = support::fields([("password", "wz-password"), ("api_key", "wz-key")]);
    let source = world
        .admin
        .call(SaveSource { institution, source: None, kind: SourceKind::Weezevent, name: "Weezevent".into(), settings, secrets, periods: Default::default() })
        .await
        .expect("source");
    world.admin.call(AttachSource { performance, source, options: support::fields([("event_id", "900")]) }).await.expect("attach");
    app.partners.refresh_due().await.expect("refresh");
    app.partners.push_now().await.expect("push");

    let after = metrics_text(&app.base_url).await;
    let moved = |name: &str, labels: &[(&str, &str)]| sample(&after, name, labels) - sample(&before, name, labels);
    let scans = "billetix_scans_total";
    assert!(moved(scans, &[("verdict", "accepted"), ("mode", "single_pass"), ("decided", "server")]) >= 1.0, "{after}");
    assert!(moved(scans, &[("verdict", "already_scanned"), ("mode", "single_pass")]) >= 1.0, "{after}");
    assert!(moved(scans, &[("verdict", "unknown_number")]) >= 1.0, "{after}");
    assert!(moved(scans, &[("verdict", "accepted"), ("mode", "entry_exit"), ("decided", "device")]) >= 1.0, "{after}");
    assert!(moved("billetix_scan_duration_seconds_count", &[]) >= 3.0, "{after}");
    assert!(moved("billetix_scan_duration_seconds_bucket", &[("le", "+Inf")]) >= 3.0, "a histogram with buckets: {after}");
    assert!(moved("billetix_offline_uploads_total", &[]) >= 1.0, "{after}");
    assert!(moved("billetix_offline_upload_scans_sum", &[]) >= 1.0, "{after}");
    assert!(moved("billetix_offline_upload_bytes_sum", &[]) >= 100.0, "{after}");
    assert!(moved("billetix_sign_ins_total", &[("result", "success")]) >= 1.0, "{after}");
    assert!(moved("billetix_sign_ins_total", &[("result", "wrong_credentials")]) >= 1.0, "{after}");
    assert!(sample(&after, "billetix_live_feeds", &[]) >= 1.0, "{after}");
    assert!(moved("billetix_source_refreshes_total", &[("partner", "weezevent"), ("result", "ok")]) >= 1.0, "{after}");
    assert!(moved("billetix_source_refresh_duration_seconds_count", &[("partner", "weezevent")]) >= 1.0, "{after}");
    assert!(after.contains("billetix_push_queue_scans "), "{after}");
    assert!(sample(&after, "billetix_db_pool_max_connections", &[("pool", "read")]) >= 1.0, "{after}");
    assert!(after.contains("billetix_db_pool_connections{pool=\"write\",state=\"in_use\"}"), "{after}");
    // Nothing of a login, a ticket or a secret in the figures.
    for private in ["gatekeeper7", "M1", "wz-key", "org@example.org"] {
        assert!(!after.contains(private), "{private} in /metrics");
    }
}
on_both_backends!(metrics_count_what_the_doors_and_partners_do);

/// With `BILLETIX_METRICS_TOKEN`, `/metrics` answers only its bearer; health stays open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_ask_for_the_token_when_one_is_set() {
    let url = support::fresh_database_url(support::Backend::Sqlite).await.expect("SQLite");
    let (_process, base_url) = support::start_process_with(&url, &[("BILLETIX_METRICS_TOKEN", "metrics-token-1")]).await;
    let http = reqwest::Client::new();
    let metrics = format!("{base_url}/metrics");
    let none = http.get(&metrics).send().await.expect("answer");
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(none.headers()[reqwest::header::WWW_AUTHENTICATE], "Bearer");
    assert_eq!(http.get(&metrics).bearer_auth("metrics-token-2").send().await.expect("answer").status(), StatusCode::UNAUTHORIZED);
    let allowed = http.get(&metrics).bearer_auth("metrics-token-1").send().await.expect("answer");
    assert_eq!(allowed.status(), StatusCode::OK);
    assert!(allowed.text().await.expect("text").contains("billetix_db_pool_max_connections"));
    assert_eq!(get(&format!("{base_url}/health/ready")).await.0, StatusCode::OK);
}
