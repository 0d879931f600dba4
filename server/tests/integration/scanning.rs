//! Doors over HTTP: online scans, snapshots, deltas, offline uploads and the live feed, on
//! both backends; and the engine alone agreeing with the server's online endpoint.

use crate::support;

use app::ssr::storage::NewTicket;
use app::domain::InstitutionId;
use app::engine::{Barcode, Direction, Mode, PerformanceId, Refusal, TicketState, Verdict};
use app::error::AppError;
use app::sync::protocol::{Door, OfflineScan, ScanLogin, ScanRequest, Uploaded, UploadedScan};
use support::api::{Scan, SyncDelta, SyncHolders, SyncSnapshot, SyncUpload};
use support::world::{Built, World};
use support::{PASSWORD, TestApp};

/// The door's clock in these scans, and the performance's start (20:26:40 UTC).
const T0: i64 = 1_780_000_000_000;

/// An institution with a venue in Paris, one performance open for scanning, its tickets,
/// and a scanner login `door` (plus `door2`, `door3`) with the `pda` right there.
async fn venue(app: &TestApp, tickets: &[(&str, TicketState, &str)]) -> Built {
    World::new(app)
        .venue("Main hall", "Europe/Paris")
        .performance("Tonight", "2026-05-28T22:26")
        .tickets(tickets)
        .pda_open()
        .door_login("door")
        .door_login("door2")
        .door_login("door3")
        .build()
        .await
}

/// Another performance of `institution` open for scanning, in a venue of its own, with its tickets.
async fn performance(app: &TestApp, institution: InstitutionId, tickets: &[(&str, TicketState, &str)]) -> PerformanceId {
    World::new(app).within(institution).venue("Main hall", "Europe/Paris").tickets(tickets).pda_open().build().await.performance
}

fn door(performance: PerformanceId, mode: Mode) -> Door {
    Door { performances: vec![performance], mode, gate: None }
}

async fn scan(client: &support::Client, scan_id: &str, barcode: &str, device: &str, door: &Door) -> Result<Verdict, AppError> {
    let request = ScanRequest { scan_id: scan_id.into(), barcode: barcode.into(), device: device.into(), client_time: T0, door: door.clone() };
    Ok(client.call(Scan { request }).await?.verdict)
}

fn refusal(verdict: Verdict) -> Refusal {
    match verdict {
        Verdict::Refused { reason } => reason,
        accepted => panic!("expected a refusal, got {accepted:?}"),
    }
}

async fn online_scans_follow_the_rules(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let v = venue(&app, &[("T1", TicketState::Valid, "general"), ("C1", TicketState::Cancelled, "general")]).await;
    let client = app.signed_in("door", PASSWORD).await;
    let single = door(v.performance, Mode::SinglePass);

    assert_eq!(scan(&client, "s1", "T1", "gate-1", &single).await, Ok(Verdict::Accepted { direction: Direction::In }));
    match refusal(scan(&client, "s2", " T1\r\n", "gate-2", &single).await.expect("scan")) {
        Refusal::AlreadyScanned { device, .. } => assert_eq!(device, "gate-1"),
        other => panic!("expected already scanned, got {other:?}"),
    }
    assert_eq!(refusal(scan(&client, "s3", "C1", "gate-1", &single).await.expect("scan")), Refusal::Cancelled);
    assert_eq!(refusal(scan(&client, "s4", "NOPE", "gate-1", &single).await.expect("scan")), Refusal::UnknownNumber);
    // A retried request (same scan id) is answered as the first time and counts once.
    assert_eq!(scan(&client, "s1", "T1", "gate-1", &single).await, Ok(Verdict::Accepted { direction: Direction::In }));
    assert_eq!(app.storage.admission_counts(v.performance).await.expect("counts"), (1, 1));
    assert!(matches!(scan(&client, "s5", "   ", "gate-1", &single).await, Err(AppError::InvalidInput { .. })));
}
on_both_backends!(online_scans_follow_the_rules);

/// Three doors scanning the same tickets at once, 24 requests in flight: however the
/// database groups their writes, a single-pass ticket is admitted once and a ticket allowed
/// two passes twice, and every scan is logged.
async fn doors_scanning_at_once_admit_each_ticket_as_often_as_allowed(backend: support::Backend) {
    const TICKETS: usize = 150;
    const SCANS_PER_TICKET: usize = 4;
    let Some(app) = support::spawn_app(backend).await else { return };
    let codes: Vec<String> = (0..TICKETS).map(|i| format!("RUSH{i:04}")).collect();
    let tickets: Vec<(&str, TicketState, &str)> = codes.iter().map(|c| (c.as_str(), TicketState::Valid, "general")).collect();
    let v = venue(&app, &tickets).await;
    let twice = performance(&app, v.institution, &tickets).await;
    let mut clients = Vec::new();
    for login in ["door", "door2", "door3"] {
        clients.push(std::sync::Arc::new(app.signed_in(login, PASSWORD).await));
    }
    let doors = [
        (door(v.performance, Mode::SinglePass), 1),
        (door(twice, Mode::MultiPass { max_total: Some(2), max_per_day: None }), 2),
    ];
    for (run, (door, allowed)) in doors.iter().enumerate() {
        let in_flight = std::sync::Arc::new(tokio::sync::Semaphore::new(24));
        let mut scans = tokio::task::JoinSet::new();
        for round in 0..SCANS_PER_TICKET {
            for (i, code) in codes.iter().enumerate() {
                let (client, door, code) = (clients[(i + round) % clients.len()].clone(), door.clone(), code.clone());
                let in_flight = in_flight.clone();
                scans.spawn(async move {
                    let _slot = in_flight.acquire_owned().await.expect("semaphore");
                    let verdict = scan(&client, &format!("r{run}-{round}-{code}"), &code, "gate", &door).await.expect("scan");
                    (code, verdict)
                });
            }
        }
        let mut admitted: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        while let Some(done) = scans.join_next().await {
            let (code, verdict) = done.expect("scan task");
            match verdict {
                Verdict::Accepted { .. } => *admitted.entry(code).or_default() += 1,
                Verdict::Refused { reason: Refusal::AlreadyScanned { .. } | Refusal::TotalQuotaReached { .. } } => {}
                other => panic!("unexpected verdict {other:?}"),
            }
        }
        assert_eq!(admitted.len(), TICKETS, "every ticket admitted (run {run})");
        assert!(admitted.values().all(|n| *n == *allowed), "admissions per ticket: {admitted:?} (run {run})");
    }
    assert_eq!(app.storage.admission_counts(v.performance).await.expect("counts"), (TICKETS as u64, TICKETS as u64));
    let logged = app.storage.scans_since(&[v.performance, twice], 0).await.expect("scan log");
    assert_eq!(logged.len(), 2 * TICKETS * SCANS_PER_TICKET, "every scan is logged");
}
on_both_backends!(doors_scanning_at_once_admit_each_ticket_as_often_as_allowed);

async fn doors_need_the_right_and_an_open_performance(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let v = venue(&app, &[("T1", TicketState::Valid, "general")]).await;
    let other = performance(&app, v.institution, &[("X1", TicketState::Valid, "general")]).await;
    app.storage.set_pda_open(other, false).await.expect("close");
    let client = app.signed_in("door", PASSWORD).await;
    assert_eq!(scan(&client, "s1", "X1", "g", &door(other, Mode::SinglePass)).await, Err(AppError::ClosedForScanning));
    assert_eq!(
        client.call(SyncSnapshot { performance: other }).await,
        Err(AppError::ClosedForScanning)
    );

    // A scanner of another institution may neither scan nor import it.
    World::new(&app).institution("Elsewhere").door_login("stranger").build().await;
    let stranger = app.signed_in("stranger", PASSWORD).await;
    assert_eq!(scan(&stranger, "s2", "T1", "g", &door(v.performance, Mode::SinglePass)).await, Err(AppError::Forbidden));
    assert_eq!(stranger.call(SyncSnapshot { performance: v.performance }).await, Err(AppError::Forbidden));
    assert_eq!(stranger.call(SyncDelta { performances: vec![v.performance], cursor: 0 }).await, Err(AppError::Forbidden));
    assert_eq!(app.storage.admission_counts(v.performance).await.expect("counts").0, 0);
}
on_both_backends!(doors_need_the_right_and_an_open_performance);

async fn snapshot_then_delta(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let v = venue(
        &app,
        &[("A1", TicketState::Valid, "general"), ("A2", TicketState::Valid, "vip"), ("A3", TicketState::Cancelled, "general")],
    )
    .await;
    let client = app.signed_in("door", PASSWORD).await;
    let snapshot = client.call(SyncSnapshot { performance: v.performance }).await.expect("snapshot");
    assert_eq!(snapshot.barcodes, ["A1", "A2", "A3"]);
    assert_eq!(snapshot.states, "vvc");
    assert_eq!(snapshot.categories[snapshot.category_of[1] as usize], "vip");
    assert!(snapshot.server_time > 0);
    let holders = client.call(SyncHolders { performance: v.performance }).await.expect("holders");
    assert_eq!(holders.names[0], "Holder of A1");

    scan(&client, "s1", "A1", "gate-1", &door(v.performance, Mode::SinglePass)).await.expect("scan");
    app.storage
        .upsert_tickets(
            v.performance,
            &[NewTicket { barcode: Barcode::parse("A2").expect("code"), state: TicketState::Cancelled, category: "vip".into(), holder: None }],
            app::ssr::now_millis(),
        )
        .await
        .expect("cancel A2");
    let delta = client.call(SyncDelta { performances: vec![v.performance], cursor: snapshot.cursor }).await.expect("delta");
    let passes = &delta.passes;
    assert_eq!(passes.len(), 1);
    assert_eq!((passes[0].barcode.as_str(), passes[0].device.as_str()), ("A1", "gate-1"));
    let changed: Vec<(&str, TicketState)> = delta.tickets.iter().map(|t| (t.barcode.as_str(), t.state)).collect();
    assert!(changed.contains(&("A2", TicketState::Cancelled)), "the cancellation reaches devices: {changed:?}");
}
on_both_backends!(snapshot_then_delta);

/// A scan the device admitted while offline.
fn offline_scan(scan_id: &str, barcode: &str, device: &str, at: i64, performance: PerformanceId) -> OfflineScan {
    OfflineScan {
        scan_id: scan_id.into(),
        barcode: barcode.into(),
        device: device.into(),
        scanned_at: at,
        door: door(performance, Mode::SinglePass),
        device_verdict: Verdict::Accepted { direction: Direction::In },
        decided: Default::default(),
        clock_skew_ms: None,
        login: None,
    }
}

fn recorded(result: &UploadedScan) -> Option<(&Verdict, bool)> {
    match &result.outcome {
        Uploaded::Recorded { server_verdict, conflict } => Some((server_verdict, *conflict)),
        Uploaded::Refused { .. } => None,
    }
}

async fn an_upload_retried_counts_once(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let v = venue(&app, &[("B1", TicketState::Valid, "g"), ("B2", TicketState::Valid, "g"), ("B3", TicketState::Valid, "g")]).await;
    let client = app.signed_in("door", PASSWORD).await;
    let batch = vec![
        offline_scan("u1", "B1", "tab-1", 1_780_000_000_000, v.performance),
        offline_scan("u2", "B2", "tab-1", 1_780_000_001_000, v.performance),
        offline_scan("u3", "B3", "tab-1", 1_780_000_002_000, v.performance),
    ];
    for _ in 0..3 {
        let outcome = client.call(SyncUpload { scans: batch.clone() }).await.expect("upload");
        assert!(outcome.results.iter().all(|r| recorded(r).is_some_and(|(_, conflict)| !conflict)), "{outcome:?}");
    }
    assert_eq!(app.storage.admission_counts(v.performance).await.expect("counts"), (3, 3));
    assert_eq!(app.storage.scans_since(&[v.performance], 0).await.expect("scans").len(), 3);
}
on_both_backends!(an_upload_retried_counts_once);

/// Issue 17, item 4: a device that retries while its first request is still on its way sends
/// the same scans again at the same moment. However the database groups them, each scan is
/// recorded once and every answer is its first record's, never "already scanned" naming itself.
async fn identical_requests_at_the_same_moment_count_once(backend: support::Backend) {
    const COPIES: usize = 12;
    let Some(app) = support::spawn_app(backend).await else { return };
    let v = venue(&app, &[("M1", TicketState::Valid, "g"), ("M2", TicketState::Valid, "g"), ("M3", TicketState::Valid, "g")]).await;
    let client = std::sync::Arc::new(app.signed_in("door", PASSWORD).await);
    let batch = vec![
        offline_scan("m1", "M1", "tab-1", 1_780_000_000_000, v.performance),
        offline_scan("m2", "M2", "tab-1", 1_780_000_001_000, v.performance),
    ];
    let single = door(v.performance, Mode::SinglePass);
    let mut uploads = tokio::task::JoinSet::new();
    let mut scans = tokio::task::JoinSet::new();
    for _ in 0..COPIES {
        let (uploader, batch) = (client.clone(), batch.clone());
        uploads.spawn(async move { uploader.call(SyncUpload { scans: batch }).await });
        let (scanner, single) = (client.clone(), single.clone());
        scans.spawn(async move { scan(&scanner, "m3", "M3", "gate-1", &single).await });
    }
    while let Some(outcome) = uploads.join_next().await {
        let outcome = outcome.expect("upload task").expect("upload answered");
        for result in &outcome.results {
            let (server_verdict, conflict) = recorded(result).unwrap_or_else(|| panic!("recorded: {outcome:?}"));
            assert!(!conflict, "never a double entry with itself: {outcome:?}");
            assert!(server_verdict.is_accepted(), "{outcome:?}");
        }
    }
    while let Some(verdict) = scans.join_next().await {
        assert_eq!(verdict.expect("scan task"), Ok(Verdict::Accepted { direction: Direction::In }), "every copy answered as the first");
    }
    assert_eq!(app.storage.scans_since(&[v.performance], 0).await.expect("scans").len(), 3, "each scan recorded once");
    assert_eq!(app.storage.admission_counts(v.performance).await.expect("counts"), (3, 3));
}
on_both_backends!(identical_requests_at_the_same_moment_count_once);

/// Finding 4 of the security review: one scan of a closed performance failed the whole batch,
/// the valid scans beside it were not recorded, and the device sent the same batch forever.
async fn one_scan_the_server_cannot_take_never_holds_back_the_others(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let v = venue(&app, &[("Q1", TicketState::Valid, "g"), ("Q2", TicketState::Valid, "g")]).await;
    let closed = World::new(&app).within(v.institution).tickets(&[("C1", TicketState::Valid, "g")]).build().await.performance;
    let elsewhere = World::new(&app).institution("Elsewhere").tickets(&[("E1", TicketState::Valid, "g")]).pda_open().build().await.performance;
    let client = app.signed_in("door", PASSWORD).await;
    let batch = vec![
        offline_scan("q1", "Q1", "tab-1", 1_780_000_000_000, v.performance),
        offline_scan("c1", "C1", "tab-1", 1_780_000_001_000, closed),
        offline_scan("e1", "E1", "tab-1", 1_780_000_002_000, elsewhere),
        offline_scan("n1", "N1", "tab-1", 1_780_000_003_000, PerformanceId(987_654)),
        offline_scan("empty", "", "tab-1", 1_780_000_004_000, v.performance),
        offline_scan("q2", "Q2", "tab-1", 1_780_000_005_000, v.performance),
    ];
    let outcome = client.call(SyncUpload { scans: batch.clone() }).await.expect("the batch is answered");
    let by_id = |id: &str| outcome.results.iter().find(|r| r.scan_id == id).unwrap_or_else(|| panic!("{id} answered: {outcome:?}"));
    for id in ["q1", "q2"] {
        assert!(recorded(by_id(id)).is_some(), "{id}: {outcome:?}");
    }
    assert!(matches!(by_id("c1").outcome, Uploaded::Refused { .. }));
    assert_eq!(by_id("c1").refusal(), Some(&AppError::ClosedForScanning));
    assert_eq!(by_id("e1").refusal(), Some(&AppError::Forbidden));
    assert!(matches!(by_id("n1").refusal(), Some(AppError::NotFound)));
    assert!(matches!(by_id("empty").refusal(), Some(AppError::InvalidInput { .. })));
    assert_eq!(outcome.results.len(), 6, "every scan is answered");
    assert_eq!(app.storage.admission_counts(v.performance).await.expect("counts").0, 2, "both valid scans recorded");
    // Sent again, the same answers: nothing counts twice, nothing is stuck.
    let again = client.call(SyncUpload { scans: batch }).await.expect("answered again");
    assert_eq!(again.results.len(), 6);
    assert_eq!(app.storage.admission_counts(v.performance).await.expect("counts").0, 2);
}
on_both_backends!(one_scan_the_server_cannot_take_never_holds_back_the_others);

/// Finding 15: a scan id already used by another institution's device was answered with that
/// scan's verdict, and this scan was dropped without a word. It is refused, naming the id.
async fn a_scan_id_held_by_another_scan_is_refused_not_dropped(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let v = venue(&app, &[("S1", TicketState::Valid, "g"), ("S2", TicketState::Valid, "g")]).await;
    let client = app.signed_in("door", PASSWORD).await;
    let single = door(v.performance, Mode::SinglePass);
    assert!(scan(&client, "shared-id-1", "S1", "gate-1", &single).await.expect("scan").is_accepted());
    assert!(scan(&client, "shared-id-1", "S1", "gate-1", &single).await.expect("a retry").is_accepted(), "a true retry is answered as the first time");
    assert_eq!(
        scan(&client, "shared-id-1", "S2", "gate-2", &single).await,
        Err(AppError::AlreadyExists("scan_id".to_owned())),
        "another number under a used id"
    );
    let outcome = client
        .call(SyncUpload { scans: vec![offline_scan("shared-id-1", "S2", "tab-1", 1_780_000_000_000, v.performance)] })
        .await
        .expect("answered");
    assert!(matches!(outcome.results[0].outcome, Uploaded::Refused { .. }), "{outcome:?}");
    assert_eq!(app.storage.admission_counts(v.performance).await.expect("counts").0, 1, "S2 was not taken for S1");
}
on_both_backends!(a_scan_id_held_by_another_scan_is_refused_not_dropped);

/// Finding 25 of the security review: a device's queued scans were uploaded under whichever
/// login signed in next. The device now sends only the signed-in login's; the server refuses,
/// with its reason, a scan tagged with another login (a session changed under the page), and
/// records the others of the batch, untagged ones (kept before devices tagged) included.
async fn a_scan_tagged_with_another_login_is_refused_the_others_recorded(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let v = venue(&app, &[("L1", TicketState::Valid, "g"), ("L2", TicketState::Valid, "g"), ("L3", TicketState::Valid, "g")]).await;
    let id_of = |name: &'static str| {
        let storage = app.storage.clone();
        async move {
            let name = app::domain::LoginName::parse(name).expect("name");
            storage.login_by_name(&name).await.expect("login").expect("exists").id.0
        }
    };
    let (door, door2) = (id_of("door").await, id_of("door2").await);
    let tagged = |scan_id: &str, barcode: &str, at: i64, login: Option<(i64, &str)>| OfflineScan {
        login: login.map(|(id, name)| ScanLogin { id, name: name.to_owned() }),
        ..offline_scan(scan_id, barcode, "tab-1", at, v.performance)
    };
    let batch = vec![
        tagged("own", "L1", 1_780_000_000_000, Some((door2, "door2"))),
        tagged("theirs", "L2", 1_780_000_001_000, Some((door, "door"))),
        tagged("untagged", "L3", 1_780_000_002_000, None),
    ];
    let second = app.signed_in("door2", PASSWORD).await;
    let outcome = second.call(SyncUpload { scans: batch.clone() }).await.expect("the batch is answered");
    let by_id = |id: &str| outcome.results.iter().find(|r| r.scan_id == id).unwrap_or_else(|| panic!("{id} answered: {outcome:?}"));
    assert_eq!(outcome.results.len(), 3, "every scan is answered: {outcome:?}");
    assert!(recorded(by_id("own")).is_some(), "{outcome:?}");
    assert!(recorded(by_id("untagged")).is_some(), "{outcome:?}");
    assert_eq!(by_id("theirs").refusal(), Some(&AppError::ScannedUnderAnotherLogin { login: "door".into() }));
    let stored: Vec<String> = app.storage.scans_since(&[v.performance], 0).await.expect("scans").into_iter().map(|s| s.barcode).collect();
    assert_eq!(stored, vec!["L1", "L3"], "nothing recorded of door's scan under door2");

    // Its own login sends it: recorded then, once.
    let first = app.signed_in("door", PASSWORD).await;
    let outcome = first.call(SyncUpload { scans: vec![batch[1].clone()] }).await.expect("answered");
    assert!(recorded(&outcome.results[0]).is_some(), "{outcome:?}");
    assert_eq!(app.storage.admission_counts(v.performance).await.expect("counts").0, 3);
}
on_both_backends!(a_scan_tagged_with_another_login_is_refused_the_others_recorded);

async fn two_offline_devices_admitting_one_ticket_is_a_double_entry(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let v = venue(&app, &[("D1", TicketState::Valid, "g")]).await;
    let first = app.signed_in("door", PASSWORD).await;
    let second = app.signed_in("door2", PASSWORD).await;
    first.call(SyncUpload { scans: vec![offline_scan("x1", "D1", "tab-1", 1_780_000_000_000, v.performance)] }).await.expect("upload");
    let outcome = second
        .call(SyncUpload { scans: vec![offline_scan("x2", "D1", "tab-2", 1_780_000_005_000, v.performance)] })
        .await
        .expect("upload");
    let (server_verdict, conflict) = recorded(&outcome.results[0]).expect("recorded");
    assert!(conflict);
    assert!(matches!(server_verdict, Verdict::Refused { reason: Refusal::AlreadyScanned { .. } }), "{server_verdict:?}");

    let scans = app.storage.scans_since(&[v.performance], 0).await.expect("scans");
    assert_eq!(scans.len(), 2, "both admissions are kept");
    assert_eq!(
        scans.iter().map(|s| s.anomaly).collect::<Vec<_>>(),
        vec![None, Some(app::ssr::storage::Anomaly::DoubleEntry)]
    );
    let delta = first.call(SyncDelta { performances: vec![v.performance], cursor: 0 }).await.expect("delta");
    let conflicts: Vec<bool> = delta.passes.iter().map(|p| p.conflict).collect();
    assert_eq!(conflicts, vec![false, true], "devices are told of the double entry");
    assert_eq!(app.storage.admission_counts(v.performance).await.expect("counts").0, 1, "one person's ticket");
}
on_both_backends!(two_offline_devices_admitting_one_ticket_is_a_double_entry);

/// One upload is written as one group: each scan is decided on the admissions before it in
/// the group, in time order, and retried ids among new ones are answered as the first time.
async fn an_upload_is_decided_in_time_order_within_itself(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let v = venue(&app, &[("G1", TicketState::Valid, "g"), ("G2", TicketState::Valid, "g")]).await;
    let client = app.signed_in("door", PASSWORD).await;
    let first = client
        .call(SyncUpload { scans: vec![offline_scan("g-a", "G1", "tab-1", 1_780_000_000_000, v.performance)] })
        .await
        .expect("upload");
    assert_eq!(recorded(&first.results[0]).map(|(_, conflict)| conflict), Some(false));
    // Sent out of order, a retry first: G2 by tab-2 at +5 s, G2 by tab-1 at +3 s.
    let batch = vec![
        offline_scan("g-a", "G1", "tab-1", 1_780_000_000_000, v.performance),
        offline_scan("g-c", "G2", "tab-2", 1_780_000_005_000, v.performance),
        offline_scan("g-b", "G2", "tab-1", 1_780_000_003_000, v.performance),
    ];
    let outcome = client.call(SyncUpload { scans: batch }).await.expect("upload");
    let results: Vec<(String, bool)> = outcome.results.iter().map(|r| (r.scan_id.clone(), r.conflict())).collect();
    assert_eq!(
        results,
        vec![("g-a".to_owned(), false), ("g-b".to_owned(), false), ("g-c".to_owned(), true)],
        "the earlier G2 entry stands, the later one is the double entry, the retry is unchanged"
    );
    let verdict = |upload: &app::sync::protocol::UploadOutcome| recorded(&upload.results[0]).map(|(verdict, _)| verdict.clone());
    assert_eq!(verdict(&outcome), verdict(&first), "the retry keeps its first verdict");
    assert!(verdict(&outcome).is_some_and(|v| v.is_accepted()));
    assert_eq!(app.storage.scans_since(&[v.performance], 0).await.expect("scans").len(), 3);
    assert_eq!(app.storage.admission_counts(v.performance).await.expect("counts").0, 2);
}
on_both_backends!(an_upload_is_decided_in_time_order_within_itself);

/// An admission made offline at `mode`'s door, going `direction`.
/// A pass the device admitted offline at a door counting in `mode`, going `direction`.
fn offline_pass(scan_id: &str, barcode: &str, device: &str, at: i64, performance: PerformanceId, mode: Mode, direction: Direction) -> SyncUpload {
    let scan = OfflineScan { door: door(performance, mode), device_verdict: Verdict::Accepted { direction }, ..offline_scan(scan_id, barcode, device, at, performance) };
    SyncUpload { scans: vec![scan] }
}

/// Whether the one scan of an upload was recorded as a conflict.
fn conflict(upload: &app::sync::protocol::UploadOutcome) -> Option<bool> {
    recorded(&upload.results[0]).map(|(_, conflict)| conflict)
}

/// Issue 17, item 5: passes that arrive late are put in time order, and every flag of the
/// ticket follows: an exit uploaded after the re-entry it explains clears that re-entry's
/// double entry, devices are told, and a late first entry moves the double entry to the later
/// scan.
async fn late_passes_put_the_flags_in_time_order(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let v = venue(&app, &[("L1", TicketState::Valid, "g"), ("L2", TicketState::Valid, "g")]).await;
    let (door1, door2) = (app.signed_in("door", PASSWORD).await, app.signed_in("door2", PASSWORD).await);
    let minute = 60_000;
    let t0 = 1_780_000_000_000;
    let entry = Mode::EntryExit { direction: Direction::In };
    let exit = Mode::EntryExit { direction: Direction::Out };
    let anomalies = |scans: &[app::ssr::storage::ScanRecord], barcode: &str| -> Vec<(String, Option<&'static str>)> {
        scans.iter().filter(|s| s.barcode == barcode).map(|s| (s.scan_uuid.clone(), s.anomaly.map(|a| a.as_str()))).collect()
    };

    // In at 0, then in again at 30 (nobody saw the exit yet): a double entry.
    door1.call(offline_pass("in-0", "L1", "tab-1", t0, v.performance, entry, Direction::In)).await.expect("upload");
    let re_entry = door2.call(offline_pass("in-30", "L1", "tab-2", t0 + 30 * minute, v.performance, entry, Direction::In)).await.expect("upload");
    assert_eq!(conflict(&re_entry), Some(true), "inside already, as far as the server knows");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let before_the_exit = app::ssr::now_millis();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;

    // The exit at 20 arrives now, from a third device.
    let late_exit = door1.call(offline_pass("out-20", "L1", "tab-3", t0 + 20 * minute, v.performance, exit, Direction::Out)).await.expect("upload");
    assert_eq!(conflict(&late_exit), Some(false));
    let scans = app.storage.scans_since(&[v.performance], 0).await.expect("scans");
    assert_eq!(
        anomalies(&scans, "L1"),
        vec![("in-0".to_owned(), None), ("in-30".to_owned(), None), ("out-20".to_owned(), None)],
        "a normal re-entry is not left flagged"
    );
    // Devices asking for what changed since before the exit arrived hear of the correction.
    let since = app.storage.scans_since(&[v.performance], before_the_exit).await.expect("scans");
    let corrected = since.iter().find(|s| s.scan_uuid == "in-30").expect("the corrected re-entry is in the delta");
    assert_eq!(corrected.anomaly, None);
    let delta = door2.call(SyncDelta { performances: vec![v.performance], cursor: 0 }).await.expect("delta");
    let flagged: Vec<_> = delta.passes.iter().filter(|p| p.conflict).collect();
    assert!(flagged.is_empty(), "no double entry left for devices: {flagged:?}");

    // Single pass: the entry at 10 is recorded first; an entry at 5 from another device
    // arrives later. The later one in time is the double entry.
    let single = Mode::SinglePass;
    door1.call(offline_pass("s-10", "L2", "tab-1", t0 + 10 * minute, v.performance, single, Direction::In)).await.expect("upload");
    let earlier = door2.call(offline_pass("s-5", "L2", "tab-2", t0 + 5 * minute, v.performance, single, Direction::In)).await.expect("upload");
    assert_eq!(conflict(&earlier), Some(false), "the earlier entry stands");
    let scans = app.storage.scans_since(&[v.performance], 0).await.expect("scans");
    assert_eq!(anomalies(&scans, "L2"), vec![("s-10".to_owned(), Some("double_entry")), ("s-5".to_owned(), None)]);
    assert_eq!(app.storage.admission_counts(v.performance).await.expect("counts").0, 2, "two tickets in");
}
on_both_backends!(late_passes_put_the_flags_in_time_order);

async fn the_live_feed_pushes_scans(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let v = venue(&app, &[("L1", TicketState::Valid, "g")]).await;
    let watcher = app.signed_in("door2", PASSWORD).await;
    let mut feed = watcher.get_stream(&format!("/live?performances={}", v.performance)).await;
    let scanner = app.signed_in("door", PASSWORD).await;
    // The subscription is live once the response headers are in; give the bus a moment.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    scan(&scanner, "live-1", "L1", "gate-9", &door(v.performance, Mode::SinglePass)).await.expect("scan");
    let text = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        let mut seen = String::new();
        while !seen.contains("live-1") {
            match feed.chunk().await.expect("stream") {
                Some(bytes) => seen.push_str(&String::from_utf8_lossy(&bytes)),
                None => break,
            }
        }
        seen
    })
    .await
    .expect("the scan arrives within 5 s");
    assert!(text.contains("event: scan") && text.contains("gate-9"), "{text}");
}
on_both_backends!(the_live_feed_pushes_scans);
