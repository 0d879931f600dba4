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
