//! Faults a venue meets, on both databases: the server process killed (`kill -9`) while 16
//! doors scan. Every scan that got an answer is in the database, once; a retry of each scan
//! that got none counts once.

use crate::support;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::backend::storage::NewTicket;
use app::domain::{InstitutionName, LoginName, Password, Rights};
use app::engine::{Barcode, TicketState};
use serde_json::{Value, json};

const TICKETS: usize = 20_000;
const CLIENTS: usize = 16;
const PASSWORD: &str = "a long enough password";

/// A client of `base_url` holding `session` (one session, shared by the doors).
fn door_client(session: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::COOKIE, format!("billetix_session={session}").parse().expect("cookie"));
    reqwest::Client::builder().default_headers(headers).timeout(Duration::from_secs(10)).build().expect("client")
}

async fn sign_in(base_url: &str) -> String {
    let answer = reqwest::Client::new()
        .post(format!("{base_url}/api/sign_in"))
        .json(&json!({"login": "door", "password": PASSWORD}))
        .send()
        .await
        .expect("sign in");
    let cookie = answer.headers().get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    cookie.split(';').next().and_then(|pair| pair.strip_prefix("billetix_session=")).expect("session cookie").to_owned()
}

fn scan_body(scan_id: &str, barcode: &str, performance: app::engine::PerformanceId) -> Value {
    json!({"request": {"scan_id": scan_id, "barcode": barcode, "device": "gate", "client_time": 0,
                       "door": {"performances": [performance], "mode": {"mode": "single_pass"}}}})
}

async fn a_killed_server_loses_no_answered_scan(backend: support::Backend) {
    let Some(url) = support::fresh_database_url(backend).await else { return };
    let opened = server::storage::open(&url).await.expect("open");
    let storage = opened.storage.as_ref();
    server::bootstrap::ensure_root(storage, Some(support::ADMIN_PASSWORD)).await.expect("bootstrap");
    let root = storage.root_institution().await.expect("root").expect("exists");
    let institution = storage.create_institution(Some(root.id), &InstitutionName::parse("Arena").expect("name")).await.expect("inst").id;
    let performance = support::undated_performance(storage, institution, "Tonight").await;
    let tickets: Vec<NewTicket> = (0..TICKETS)
        .map(|i| NewTicket { barcode: Barcode::parse(&format!("K{i:05}")).expect("code"), state: TicketState::Valid, category: "g".into(), holder: None })
        .collect();
    storage.upsert_tickets(performance, &tickets, 1).await.expect("tickets");
    storage.set_pda_open(performance, true).await.expect("open");
    let hash = app::backend::password::hash(&Password::parse(PASSWORD).expect("password")).await.expect("hash");
    let login = storage.create_login(&LoginName::parse("door").expect("login"), &hash).await.expect("login");
    storage.set_membership(login, institution, Rights { pda: true, ..Rights::default() }).await.expect("member");

    let (mut process, base_url) = support::start_process(&url).await;
    let session = sign_in(&base_url).await;
    // Each door scans its own tickets, one after the other, until the server is gone.
    let answered: Arc<Mutex<Vec<(String, String, bool)>>> = Arc::default();
    let unanswered: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let mut doors = tokio::task::JoinSet::new();
    for door in 0..CLIENTS {
        let (http, base_url, answered, unanswered) = (door_client(&session), base_url.clone(), answered.clone(), unanswered.clone());
        doors.spawn(async move {
            for n in 0..TICKETS / CLIENTS {
                let (scan_id, barcode) = (format!("k{door}-{n}"), format!("K{:05}", door + n * CLIENTS));
                let sent = http.post(format!("{base_url}/api/scan")).json(&scan_body(&scan_id, &barcode, performance)).send().await;
                let verdict = match sent {
                    Ok(response) if response.status().is_success() => response.json::<Value>().await.ok(),
                    _ => None,
                };
                match verdict {
                    Some(answer) => {
                        let admitted = answer["verdict"]["verdict"] == json!("accepted");
                        answered.lock().expect("list").push((scan_id, barcode, admitted));
                    }
                    None => {
                        unanswered.lock().expect("list").push((scan_id, barcode));
                        return;
                    }
                }
            }
        });
    }
    // Doors at full speed, then the process is killed outright (SIGKILL), mid-write.
    while answered.lock().expect("list").len() < 2_000 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    process.0.kill().expect("kill -9");
    let _ = process.0.wait();
    doors.join_all().await;

    let (_restarted, base_url) = support::start_process(&url).await;
    let http = door_client(&sign_in(&base_url).await);
    let unanswered = unanswered.lock().expect("list").clone();
    for (scan_id, barcode) in &unanswered {
        let answer: Value = http
            .post(format!("{base_url}/api/scan"))
            .json(&scan_body(scan_id, barcode, performance))
            .send()
            .await
            .expect("the restarted server answers")
            .json()
            .await
            .expect("json");
        assert_eq!(answer["verdict"]["verdict"], json!("accepted"), "{scan_id}: a retry counts once, as the first time");
    }

    let answered = answered.lock().expect("list").clone();
    assert!(answered.len() >= 2_000 && answered.iter().all(|(_, _, admitted)| *admitted));
    let recorded = storage.scans_since(&[performance], 0).await.expect("scans");
    let by_id: HashMap<&str, &app::backend::storage::ScanRecord> = recorded.iter().map(|r| (r.scan_uuid.as_str(), r)).collect();
    for (scan_id, barcode, _) in &answered {
        let record = by_id.get(scan_id.as_str()).unwrap_or_else(|| panic!("answered scan {scan_id} lost"));
        assert!(record.admitted && record.barcode == *barcode);
    }
    assert_eq!(recorded.len(), answered.len() + unanswered.len(), "each scan recorded once");
    let admitted: HashSet<&str> = recorded.iter().filter(|r| r.admitted).map(|r| r.barcode.as_str()).collect();
    assert_eq!(admitted.len(), recorded.len(), "no ticket admitted twice");
    let (counted, _) = storage.admission_counts(performance).await.expect("counts");
    assert_eq!(counted, recorded.len() as u64);
}
on_both_backends!(a_killed_server_loses_no_answered_scan);
