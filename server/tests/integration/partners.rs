//! Web-service partners over HTTP and through the refresher, on both databases: Weezevent,
//! Billetweb, Eventbrite, SecuTix and TIXNGO against their stand-ins (pages, states, tickets
//! the partner already scanned, incremental refreshes, faults that keep what was imported and
//! recover, secrets that never come back), the scans pushed to SecuTix and TIXNGO, and the
//! cancellations pushed to TIXNGO.

use crate::support;

use std::collections::BTreeMap;
use std::time::Duration;

use app::domain::{FieldValues, InstitutionId, PartnerEvent, SourceId, SourceKind};
use app::engine::{Direction, Mode, PerformanceId, Refusal, Verdict};
use app::error::AppError;
use app::sync::protocol::{Door, OfflineScan, ScanRequest};
use serde_json::json;
use standins::Fault;
use standins::billetweb::BilletwebStandIn;
use standins::eventbrite::EventbriteStandIn;
use standins::secutix::SecutixStandIn;
use standins::tixngo::TixngoStandIn;
use standins::weezevent::WeezeventStandIn;
use support::api::{AttachSource, InstitutionSources, PartnerEvents, PerformanceSources, RefreshSource, SaveSource, Scan, SetPdaOpen, SyncUpload};
use support::{ADMIN_PASSWORD, Client, TestApp, fields};

/// An institution with one dated performance open for scanning.
async fn a_performance(app: &TestApp, admin: &Client, name: &str) -> (InstitutionId, PerformanceId) {
    let (institution, performance) = app.a_performance(admin, name).await;
    admin.call(SetPdaOpen { performance, open: true }).await.expect("PDA");
    (institution, performance)
}

async fn save_source(admin: &Client, institution: InstitutionId, kind: SourceKind, settings: FieldValues, secrets: FieldValues) -> Result<SourceId, AppError> {
    let name = serde_json::to_value(kind).expect("kind").as_str().expect("a name").to_owned();
    admin.call(SaveSource { institution, source: None, kind, name, settings, secrets, periods: Default::default() }).await
}

/// Saves the source, checks its secrets never come back, and attaches it.
async fn attached_source(
    admin: &Client,
    institution: InstitutionId,
    performance: PerformanceId,
    kind: SourceKind,
    settings: FieldValues,
    secrets: FieldValues,
    options: FieldValues,
) -> SourceId {
    let source = save_source(admin, institution, kind, settings, secrets.clone()).await.expect("source");
    let listed = format!("{:?}", admin.call(InstitutionSources { institution }).await.expect("list"));
    for secret in secrets.values() {
        assert!(!listed.contains(secret.as_str()), "{kind:?}: a secret came back: {listed}");
    }
    admin.call(AttachSource { performance, source, options }).await.expect("attach");
    source
}

fn states(tickets: &BTreeMap<String, (String, String)>) -> BTreeMap<&str, &str> {
    tickets.iter().map(|(code, (state, _))| (code.as_str(), state.as_str())).collect()
}

fn door(performance: PerformanceId) -> Door {
    Door { performances: vec![performance], mode: Mode::SinglePass, gate: None }
}

async fn scan(admin: &Client, performance: PerformanceId, code: &str, id: &str) -> Verdict {
    let request = ScanRequest { scan_id: id.into(), barcode: code.into(), device: "door-1".into(), client_time: 0, door: door(performance) };
    admin.call(Scan { request }).await.expect("scan").verdict
}

fn is_accepted(verdict: &Verdict) -> bool {
    matches!(verdict, Verdict::Accepted { .. })
}

fn is_already_scanned(verdict: &Verdict) -> bool {
    matches!(verdict, Verdict::Refused { reason: Refusal::AlreadyScanned { .. } })
}

fn is_cancelled(verdict: &Verdict) -> bool {
    matches!(verdict, Verdict::Refused { reason: Refusal::Cancelled })
}

async fn refresh_now(app: &TestApp, admin: &Client, performance: PerformanceId, source: SourceId) {
    admin.call(RefreshSource { performance, source }).await.expect("refresh now");
    app.partners.refresh_due().await.expect("refresh");
}

/// The refresh failed: the error is on the source, without the secrets, and nothing is lost.
async fn assert_failed_keeping(admin: &Client, app: &TestApp, performance: PerformanceId, secrets: &[&str], before: usize, what: &str) {
    let error = admin.attachment(performance).await.last_error.unwrap_or_default();
    assert!(!error.is_empty(), "{what}: the error is shown on the source");
    for secret in secrets {
        assert!(!error.contains(secret), "{what}: a secret in the error: {error}");
    }
    assert!(app.tickets_by_code(performance).await.len() >= before, "{what}: nothing imported before is lost");
}

/// The partner's events the source lists, as (id, name, venue).
async fn partner_events(admin: &Client, institution: InstitutionId) -> Vec<PartnerEvent> {
    let listed = admin.call(PartnerEvents { institution }).await.expect("events");
    listed.into_iter().next().map(|source| source.events).unwrap_or_default()
}

async fn weezevent_pages_map_states_and_recover_from_faults(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let (institution, performance) = a_performance(&app, &admin, "Gala").await;
    let (password, key) = ("wz-password-1", "wz-api-key-1");
    let weez = WeezeventStandIn::start("org@example.org", password, key).await.expect("stand-in");
    for id in 1..=4u64 {
        weez.put(WeezeventStandIn::participant(id, 900, &format!("WZ{id}"), if id.is_multiple_of(2) { "VIP" } else { "Normal" }));
    }
    let mut deleted = WeezeventStandIn::participant(5, 900, "WZ5", "Normal");
    deleted["deleted"] = json!("1");
    weez.put(deleted);
    let mut refunded = WeezeventStandIn::participant(6, 900, "WZ6", "Normal");
    refunded["refund"] = json!("1");
    weez.put(refunded);
    let mut scanned = WeezeventStandIn::participant(7, 900, "WZ7", "Normal");
    scanned["control_status"] = json!({"status": "1", "scan_date": "2030-06-01 19:00:00"});
    weez.put(scanned);
    weez.put(WeezeventStandIn::participant(8, 901, "OTHER", "Normal"));
    weez.put_event(json!({"id": 950, "name": "Gala d'hiver", "date": {"start": "2031-01-10 20:00:00"}}));

    let missing = save_source(&admin, institution, SourceKind::Weezevent, fields([("username", "org@example.org"), ("api_url", &weez.url)]), fields([("password", password)])).await;
    assert!(matches!(&missing, Err(AppError::SourceSettings { field, .. }) if field == "api_key"), "{missing:?}");
    let settings = fields([("username", "org@example.org"), ("api_url", &weez.url), ("page_size", "3"), ("requests_per_minute", "0")]);
    let secrets = fields([("password", password), ("api_key", key)]);
    let source = attached_source(&admin, institution, performance, SourceKind::Weezevent, settings, secrets, fields([("event_id", "900")])).await;

    // The access token expires after the first page: the connector asks for another.
    weez.expire_token_after(1);
    app.partners.refresh_due().await.expect("refresh");
    let tickets = app.tickets_by_code(performance).await;
    let expected: BTreeMap<&str, &str> =
        [("WZ1", "valid"), ("WZ2", "valid"), ("WZ3", "valid"), ("WZ4", "valid"), ("WZ5", "cancelled"), ("WZ6", "cancelled"), ("WZ7", "valid")].into();
    assert_eq!(states(&tickets), expected);
    assert_eq!(tickets["WZ2"].1, "VIP");
    assert_eq!(weez.shared.requests(), 3, "7 participants, 3 a page");
    assert_eq!(weez.tokens_issued(), 2, "a token for the refresh, and one when it expired");
    assert!(admin.attachment(performance).await.last_error.is_none());
    assert!(is_already_scanned(&scan(&admin, performance, "WZ7", "w-7").await), "scanned at Weezevent");
    assert!(is_accepted(&scan(&admin, performance, "WZ1", "w-1").await));
    assert!(is_cancelled(&scan(&admin, performance, "WZ5", "w-5").await));

    // Changes: one deletion and four sales, two pages; the second page fails each time.
    let mut gone = WeezeventStandIn::participant(2, 900, "WZ2", "VIP");
    gone["deleted"] = json!("1");
    weez.put(gone);
    for id in 10..=13u64 {
        weez.put(WeezeventStandIn::participant(id, 900, &format!("WZ{id}"), "Late"));
    }
    // A 500 on the second page, then a truncated answer where the next refresh resumes.
    for (fault, mid_refresh) in [(Fault::ServerError, true), (Fault::TruncatedPage, false)] {
        if mid_refresh {
            weez.shared.pass_next();
        }
        weez.shared.fail_next(fault);
        refresh_now(&app, &admin, performance, source).await;
        assert_failed_keeping(&admin, &app, performance, &[password, key, "wz-access"], 7, &format!("{fault:?}")).await;
        let kept = app.tickets_by_code(performance).await;
        assert_eq!(kept["WZ2"].0, "cancelled", "{fault:?}: the first page of the changes is committed");
        assert!(kept.contains_key("WZ11") && !kept.contains_key("WZ13"), "{fault:?}: {kept:?}");
    }
    let before = weez.shared.requests();
    refresh_now(&app, &admin, performance, source).await;
    let recovered = app.tickets_by_code(performance).await;
    assert_eq!(recovered.len(), 11, "{recovered:?}");
    assert_eq!(recovered["WZ13"], ("valid".to_owned(), "Late".to_owned()));
    assert!(admin.attachment(performance).await.last_error.is_none());
    assert_eq!(weez.shared.requests() - before, 1, "resumed at the page that failed");
    // Nothing changed since: one request, nothing new, the scan's pass kept.
    refresh_now(&app, &admin, performance, source).await;
    assert_eq!(app.tickets_by_code(performance).await.len(), 11);
    assert!(is_already_scanned(&scan(&admin, performance, "WZ1", "w-1b").await));

    let events = partner_events(&admin, institution).await;
    assert!(events.iter().any(|e| e.id == "950" && e.name == "Gala d'hiver"), "{events:?}");
}
on_both_backends!(weezevent_pages_map_states_and_recover_from_faults);

async fn billetweb_attendees_map_states_incrementally_and_recover(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let (institution, performance) = a_performance(&app, &admin, "Bal").await;
    let key = "bw-key-secret";
    let bw = BilletwebStandIn::start("4242", key).await.expect("stand-in");
    bw.put(BilletwebStandIn::attendee(1, "E1", "BW1", "Plein tarif"));
    let mut disabled = BilletwebStandIn::attendee(2, "E1", "BW2", "Plein tarif");
    disabled["disabled"] = json!("1");
    bw.put(disabled);
    let mut unpaid = BilletwebStandIn::attendee(3, "E1", "BW3", "Réduit");
    unpaid["order_paid"] = json!("0");
    bw.put(unpaid);
    let mut used = BilletwebStandIn::attendee(4, "E1", "BW4", "Réduit");
    used["used"] = json!(1);
    used["used_date"] = json!("2030-06-01 19:30:00");
    bw.put(used);
    bw.put(BilletwebStandIn::attendee(5, "E2", "OTHER", "Plein tarif"));
    bw.put_event(json!({"id": "E9", "name": "Bal masqué", "start": "2031-02-14 21:00:00", "place": "Salle des fêtes"}));

    let settings = fields([("user", "4242"), ("api_url", &bw.url), ("requests_per_minute", "0")]);
    let source = attached_source(&admin, institution, performance, SourceKind::Billetweb, settings, fields([("key", key)]), fields([("event_id", "E1")])).await;
    app.partners.refresh_due().await.expect("refresh");
    let tickets = app.tickets_by_code(performance).await;
    let expected: BTreeMap<&str, &str> = [("BW1", "valid"), ("BW2", "cancelled"), ("BW3", "cancelled"), ("BW4", "valid")].into();
    assert_eq!(states(&tickets), expected);
    assert_eq!(tickets["BW3"].1, "Réduit");
    assert!(is_already_scanned(&scan(&admin, performance, "BW4", "b-4").await), "used at Billetweb");

    // A refund and a sale.
    let mut refunded = BilletwebStandIn::attendee(1, "E1", "BW1", "Plein tarif");
    refunded["disabled"] = json!("1");
    bw.put(refunded);
    bw.put(BilletwebStandIn::attendee(6, "E1", "BW6", "Plein tarif"));
    // A malformed answer, then one slower than the client's timeout, then recovery.
    for fault in [Fault::MalformedJson, Fault::Stall(Duration::from_secs(3))] {
        bw.shared.fail_next(fault);
        refresh_now(&app, &admin, performance, source).await;
        assert_failed_keeping(&admin, &app, performance, &[key], 4, &format!("{fault:?}")).await;
        assert_eq!(app.tickets_by_code(performance).await["BW1"].0, "valid", "{fault:?}: nothing of the failed answer is taken");
    }
    refresh_now(&app, &admin, performance, source).await;
    let recovered = app.tickets_by_code(performance).await;
    assert_eq!((recovered["BW1"].0.as_str(), recovered.len()), ("cancelled", 5), "{recovered:?}");
    assert!(admin.attachment(performance).await.last_error.is_none());
    // The stand-in's clock gave the first refresh's latest change 1_780_000_004.
    assert_eq!(bw.last_since(), Some(1_780_000_004 - 1), "incremental, from the latest change seen, one second back");

    let events = partner_events(&admin, institution).await;
    assert!(events.iter().any(|e| e.id == "E9" && e.venue == "Salle des fêtes"), "{events:?}");
}
on_both_backends!(billetweb_attendees_map_states_incrementally_and_recover);

async fn eventbrite_follows_continuations_and_splits_barcodes(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let (institution, performance) = a_performance(&app, &admin, "Conférence").await;
    let token = "eb-private-token";
    let eb = EventbriteStandIn::start(token, 2).await.expect("stand-in");
    eb.put(EventbriteStandIn::attendee(1, "77", &["EB1A", "EB1B"], "Early bird"));
    let mut cancelled = EventbriteStandIn::attendee(2, "77", &["EB2"], "GA");
    cancelled["cancelled"] = json!(true);
    eb.put(cancelled);
    let mut refunded = EventbriteStandIn::attendee(3, "77", &["EB3"], "GA");
    refunded["refunded"] = json!(true);
    eb.put(refunded);
    let mut checked_in = EventbriteStandIn::attendee(4, "77", &["EB4"], "GA");
    checked_in["barcodes"][0]["status"] = json!("used");
    checked_in["barcodes"][0]["changed"] = json!("2030-06-01T18:00:00Z");
    eb.put(checked_in);
    eb.put(EventbriteStandIn::attendee(5, "77", &["EB5"], "GA"));
    eb.put(EventbriteStandIn::attendee(6, "78", &["OTHER"], "GA"));

    let settings = fields([("api_url", &format!("{}/v3", eb.url)), ("requests_per_minute", "0")]);
    let source = attached_source(&admin, institution, performance, SourceKind::Eventbrite, settings, fields([("token", token)]), fields([("event_id", "77")])).await;
    // A 429 on the second page is waited out within the refresh.
    eb.shared.pass_next();
    eb.shared.fail_next(Fault::TooManyRequests { retry_after_secs: 1 });
    app.partners.refresh_due().await.expect("refresh");
    let tickets = app.tickets_by_code(performance).await;
    let expected: BTreeMap<&str, &str> =
        [("EB1A", "valid"), ("EB1B", "valid"), ("EB2", "cancelled"), ("EB3", "cancelled"), ("EB4", "valid"), ("EB5", "valid")].into();
    assert_eq!(states(&tickets), expected);
    assert_eq!(tickets["EB1B"].1, "Early bird");
    assert_eq!(eb.shared.requests(), 4, "5 attendees, 2 a page, one 429");
    assert!(admin.attachment(performance).await.last_error.is_none());
    assert!(is_already_scanned(&scan(&admin, performance, "EB4", "e-4").await), "checked in at Eventbrite");

    // Two sales, then a cancellation, then a sale: two pages; the second fails, then recovers.
    eb.put(EventbriteStandIn::attendee(7, "77", &["EB7"], "GA"));
    eb.put(EventbriteStandIn::attendee(8, "77", &["EB8"], "GA"));
    let mut now_cancelled = EventbriteStandIn::attendee(5, "77", &["EB5"], "GA");
    now_cancelled["cancelled"] = json!(true);
    eb.put(now_cancelled);
    eb.put(EventbriteStandIn::attendee(9, "77", &["EB9"], "GA"));
    eb.shared.pass_next();
    eb.shared.fail_next(Fault::ServerError);
    refresh_now(&app, &admin, performance, source).await;
    assert_failed_keeping(&admin, &app, performance, &[token], 6, "500").await;
    let kept = app.tickets_by_code(performance).await;
    assert!(kept.contains_key("EB8") && !kept.contains_key("EB9"), "the first page of the changes is committed: {kept:?}");
    assert_eq!(kept["EB5"].0, "valid");
    let before = eb.shared.requests();
    refresh_now(&app, &admin, performance, source).await;
    let recovered = app.tickets_by_code(performance).await;
    assert_eq!((recovered["EB5"].0.as_str(), recovered.len()), ("cancelled", 9), "{recovered:?}");
    assert!(admin.attachment(performance).await.last_error.is_none());
    assert_eq!(eb.shared.requests() - before, 1, "resumed from the continuation that failed");
}
on_both_backends!(eventbrite_follows_continuations_and_splits_barcodes);

async fn secutix_exports_incrementally_and_gets_every_control_result(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let (institution, performance) = a_performance(&app, &admin, "Opéra").await;
    let password = "stx-password";
    let stx = SecutixStandIn::start("ws-user", password).await.expect("stand-in");
    stx.put(SecutixStandIn::item("10000000000001", "PERF1", "ADULT"));
    let mut cancelled = SecutixStandIn::item("10000000000002", "PERF1", "ADULT");
    cancelled["cancellationCause"] = json!("REFUND");
    stx.put(cancelled);
    stx.put(SecutixStandIn::item("10000000000003", "PERF1", "CHILD"));
    stx.put(SecutixStandIn::item("20000000000004", "PERF2", "ADULT"));
    stx.put(SecutixStandIn::item("10000000000005", "PERF1", "ADULT"));

    let wrong_settings = fields([("service_url", &stx.url), ("user", "ws-user"), ("ac_identifier", "AC1"), ("list_type", "PINK")]);
    let wrong = save_source(&admin, institution, SourceKind::Secutix, wrong_settings, fields([("password", password)])).await;
    assert!(matches!(&wrong, Err(AppError::SourceSettings { field, .. }) if field == "list_type"), "{wrong:?}");
    let settings = fields([("service_url", &stx.url), ("user", "ws-user"), ("ac_identifier", "AC1"), ("page_size", "2"), ("requests_per_minute", "0")]);
    let source = attached_source(&admin, institution, performance, SourceKind::Secutix, settings, fields([("password", password)]), fields([("performance_code", "PERF1")])).await;
    app.partners.refresh_due().await.expect("refresh");
    let tickets = app.tickets_by_code(performance).await;
    let expected: BTreeMap<&str, &str> =
        [("10000000000001", "valid"), ("10000000000002", "cancelled"), ("10000000000003", "valid"), ("10000000000005", "valid")].into();
    assert_eq!(states(&tickets), expected);
    assert_eq!(tickets["10000000000003"].1, "CHILD");

    // Incremental: a cancellation and a sale come from the previous paginationEnd.
    let mut now_cancelled = SecutixStandIn::item("10000000000003", "PERF1", "CHILD");
    now_cancelled["cancellationCause"] = json!("EXCHANGE");
    stx.put(now_cancelled);
    stx.put(SecutixStandIn::item("10000000000006", "PERF1", "ADULT"));
    let before = stx.shared.requests();
    refresh_now(&app, &admin, performance, source).await;
    let tickets = app.tickets_by_code(performance).await;
    assert_eq!((tickets["10000000000003"].0.as_str(), tickets.len()), ("cancelled", 5), "{tickets:?}");
    assert!(stx.shared.requests() - before <= 2, "not the whole list again");

    // Controls: accepted online, refused online (twice over, cancelled), offline both ways.
    assert!(is_accepted(&scan(&admin, performance, "10000000000001", "x-1").await));
    assert!(is_already_scanned(&scan(&admin, performance, "10000000000001", "x-2").await));
    assert!(is_cancelled(&scan(&admin, performance, "10000000000002", "x-3").await));
    scan(&admin, performance, "NOT-A-SECUTIX-NUMBER", "x-4").await;
    let offline = |scan_id: &str, barcode: &str, scanned_at: i64, device_verdict: Verdict| OfflineScan {
        scan_id: scan_id.into(),
        barcode: barcode.into(),
        device: "tab-1".into(),
        scanned_at,
        door: door(performance),
        device_verdict,
        decided: Default::default(),
        clock_skew_ms: None,
        login: None,
    };
    let scans = vec![
        offline("x-5", "10000000000005", 1_780_000_000_000, Verdict::Accepted { direction: Direction::In }),
        offline("x-6", "10000000000006", 1_780_000_001_000, Verdict::Refused { reason: Refusal::UnknownNumber }),
    ];
    admin.call(SyncUpload { scans }).await.expect("offline upload");
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    stx.shared.fail_next_push(Fault::ServerError);
    app.partners.push_now().await.expect("push");
    assert!(stx.shared.pushes().is_empty());
    assert!(admin.attachment(performance).await.push_error.is_some_and(|e| e.contains("500")));
    app.partners.push_now().await.expect("push");
    app.partners.push_now().await.expect("push");
    let pushed: Vec<(String, String, String)> = stx
        .shared
        .pushes()
        .iter()
        .map(|p| {
            let text = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
            (text("barcode"), text("controlResult"), text("failureReason"))
        })
        .collect();
    let expected: Vec<(String, String, String)> = [
        ("10000000000001", "OK", ""),
        ("10000000000001", "FAIL", "already_scanned"),
        ("10000000000002", "FAIL", "cancelled"),
        ("10000000000005", "OFFLINE_OK", ""),
        ("10000000000006", "OFFLINE_FAIL", "unknown_number"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(pushed, expected, "every control once, in order, with its result");
    assert!(stx.shared.pushes().iter().all(|p| p["acIdentifier"] == "AC1"));
    assert!(admin.attachment(performance).await.push_error.is_none());
}
on_both_backends!(secutix_exports_incrementally_and_gets_every_control_result);

async fn tixngo_reads_the_status_feed_and_gets_controlled_tickets(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let (institution, performance) = a_performance(&app, &admin, "Stade").await;
    let api_key = "tixngo-api-key";
    let tix = TixngoStandIn::start(api_key).await.expect("stand-in");
    let statuses = ["INJECTED", "DOWNLOADED", "DELETION_PENDING", "DELETED", "CONTROLLED", "TRANSFERRED"];
    for (i, status) in statuses.iter().enumerate() {
        let id = i as u64 + 1;
        tix.put(TixngoStandIn::ticket(id, "EV1", &format!("TX{id}"), status, "Cat 1"));
    }
    tix.put(TixngoStandIn::ticket(99, "EV2", "OTHER", "INJECTED", "Cat 1"));

    let settings = fields([("api_url", &tix.url), ("page_size", "2"), ("requests_per_minute", "0")]);
    let source = attached_source(&admin, institution, performance, SourceKind::Tixngo, settings, fields([("api_key", api_key)]), fields([("event_id", "EV1")])).await;
    app.partners.refresh_due().await.expect("refresh");
    let tickets = app.tickets_by_code(performance).await;
    let expected: BTreeMap<&str, &str> =
        [("TX1", "valid"), ("TX2", "valid"), ("TX3", "cancelled"), ("TX4", "cancelled"), ("TX5", "valid"), ("TX6", "valid")].into();
    assert_eq!(states(&tickets), expected);
    assert_eq!(tix.shared.requests(), 4, "7 changes, 2 a batch");
    assert!(is_already_scanned(&scan(&admin, performance, "TX5", "t-5").await), "controlled in the wallet");

    // The feed goes on from its cursor: an invalidation and a new ticket.
    tix.put(TixngoStandIn::ticket(1, "EV1", "TX1", "DELETED", "Cat 1"));
    tix.put(TixngoStandIn::ticket(7, "EV1", "TX7", "ASSIGNED", "Cat 2"));
    let before = tix.shared.requests();
    refresh_now(&app, &admin, performance, source).await;
    let tickets = app.tickets_by_code(performance).await;
    assert_eq!((tickets["TX1"].0.as_str(), tickets["TX7"].0.as_str()), ("cancelled", "valid"));
    assert_eq!(tix.shared.requests() - before, 1, "only the new changes");

    // Controlled tickets are pushed; refusals are not (the wallet hides the QR code of
    // controlled tickets only).
    assert!(is_accepted(&scan(&admin, performance, "TX2", "t-2").await));
    assert!(is_cancelled(&scan(&admin, performance, "TX3", "t-3").await));
    assert!(is_accepted(&scan(&admin, performance, "TX6", "t-6").await));
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    app.partners.push_now().await.expect("push");
    let pushed: Vec<(String, String)> = tix
        .shared
        .pushes()
        .iter()
        .map(|p| (p["barcode"].as_str().unwrap_or_default().to_owned(), p["eventId"].as_str().unwrap_or_default().to_owned()))
        .collect();
    assert_eq!(pushed, vec![("TX2".to_owned(), "EV1".to_owned()), ("TX6".to_owned(), "EV1".to_owned())]);
}
on_both_backends!(tixngo_reads_the_status_feed_and_gets_controlled_tickets);

async fn tixngo_is_told_of_the_scans_and_cancellations_of_tickets_its_wallet_holds(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let (institution, performance) = a_performance(&app, &admin, "Arène").await;
    // The issuer (SecuTix 360, by its reseller file) imports first; the wallet holds copies.
    let issuer = save_source(&admin, institution, SourceKind::SecutixReseller, fields([]), fields([])).await.expect("issuer");
    admin.call(AttachSource { performance, source: issuer, options: fields([]) }).await.expect("attach");
    let row = |code: &str, state: &str| format!("{code};{state};F1;P1;Match;2030-06-01;T1;Plein;42.00;2030-05-01;C9\n");
    let sales: String = ["10000000000101", "10000000000102", "10000000000103"].iter().map(|c| row(c, "PRINTED")).collect();
    assert_eq!(admin.upload(performance, issuer, "sales.csv", false, sales.as_bytes()).await.0, 200);
    let api_key = "tixngo-api-key";
    let tix = TixngoStandIn::start(api_key).await.expect("stand-in");
    tix.put(TixngoStandIn::ticket(1, "EV1", "10000000000101", "INJECTED", "Cat 1"));
    tix.put(TixngoStandIn::ticket(2, "EV1", "10000000000102", "INJECTED", "Cat 1"));
    tix.put(TixngoStandIn::ticket(3, "EV1", "WALLET-ONLY", "INJECTED", "Cat 1"));
    let settings = fields([("api_url", &tix.url), ("requests_per_minute", "0")]);
    let wallet = attached_source(&admin, institution, performance, SourceKind::Tixngo, settings, fields([("api_key", api_key)]), fields([("event_id", "EV1")])).await;
    app.partners.refresh_due().await.expect("refresh");
    assert_eq!(app.tickets_by_code(performance).await.len(), 4);

    // The issuer cancels 101 (in the wallet) and 103 (never in it); the wallet itself deletes
    // its own ticket: only 101 is the wallet's to be told of. 102, the issuer's, is scanned:
    // the wallet holds it too, so it hears of that as well.
    let cancellations: String = ["10000000000101", "10000000000103"].iter().map(|c| row(c, "CANCELLED")).collect();
    assert_eq!(admin.upload(performance, issuer, "sales.csv", false, cancellations.as_bytes()).await.0, 200);
    tix.put(TixngoStandIn::ticket(3, "EV1", "WALLET-ONLY", "DELETED", "Cat 1"));
    refresh_now(&app, &admin, performance, wallet).await;
    assert!(is_accepted(&scan(&admin, performance, "10000000000102", "w-2").await));
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let tickets = app.tickets_by_code(performance).await;
    let cancelled: Vec<&str> = tickets.iter().filter(|(_, (state, _))| state == "cancelled").map(|(code, _)| code.as_str()).collect();
    assert_eq!(cancelled, ["10000000000101", "10000000000103", "WALLET-ONLY"]);

    // A failure is shown on the source and retried; once taken, a cancellation is not sent again.
    let wallet_row = || async {
        let attached = admin.call(PerformanceSources { performance }).await.expect("list").attached;
        attached.into_iter().find(|a| a.source == wallet).expect("wallet row")
    };
    tix.shared.fail_next_push(Fault::ServerError);
    app.partners.push_now().await.expect("push");
    assert!(tix.shared.pushes().is_empty());
    assert!(wallet_row().await.push_error.is_some_and(|e| e.contains("500")), "the error is on the source");
    app.partners.push_now().await.expect("push");
    app.partners.push_now().await.expect("push");
    let pushes = tix.shared.pushes();
    assert_eq!(pushes.len(), 2, "{pushes:?}");
    assert_eq!((&pushes[0]["barcode"], pushes[0]["controlDate"].is_string()), (&json!("10000000000102"), true), "the scan");
    assert_eq!(pushes[1], json!({"eventId": "EV1", "barcode": "10000000000101"}), "the cancellation");
    assert!(wallet_row().await.push_error.is_none());

    // The wallet's feed then reports the deletion: nothing changes and nothing is sent again.
    refresh_now(&app, &admin, performance, wallet).await;
    app.partners.push_now().await.expect("push");
    assert_eq!(tix.shared.pushes().len(), 2);
    assert_eq!(app.tickets_by_code(performance).await["10000000000101"].0, "cancelled");
}
on_both_backends!(tixngo_is_told_of_the_scans_and_cancellations_of_tickets_its_wallet_holds);
