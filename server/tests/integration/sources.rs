//! Sources over HTTP and through the refresher, on both databases: the file source (check,
//! all-or-nothing import, cumulative re-imports, cancellations), Shotgun against its stand-in
//! (pages, states, errors that keep what was imported, recovery), several sources on one
//! performance, secrets that never come back, and the refresh lease.

use crate::support;

use app::error::AppError;
use serde_json::{Value, json};
use standins::Fault;
use standins::shotgun::ShotgunStandIn;
use support::{ADMIN_PASSWORD, Client};

fn periods() -> Value {
    json!({"long_minutes": 240, "short_minutes": 5, "short_window_hours": 24})
}

async fn save_source(admin: &Client, institution: &Value, kind: &str, name: &str, settings: Value, secrets: Value) -> Result<Value, AppError> {
    admin
        .call("sources/save", json!({"institution": institution, "source": null, "kind": kind, "name": name,
                                      "settings": settings, "secrets": secrets, "periods": periods()}))
        .await
}

fn upload_path(performance: &Value, source: &Value, dry_run: bool) -> String {
    format!("/upload/source-file?performance={performance}&source={source}&file_name=tickets.csv&dry_run={dry_run}")
}

async fn a_file_import_is_checked_all_or_nothing_and_cumulative(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let (institution, performance) = app.a_performance(&admin, "Théâtre").await;
    let source = save_source(&admin, &institution, "file", "Billetterie", json!({}), json!({})).await.expect("file source");
    assert!(
        matches!(save_source(&admin, &institution, "file", "Encore", json!({}), json!({})).await, Err(AppError::AlreadyExists(_))),
        "one file source per institution"
    );
    admin.call("sources/attach", json!({"performance": performance, "source": source, "options": {}})).await.expect("attach");

    let file = "barcode;category;holder_name;status\nA1;vip;Ada;valid\nA2;general;Bob;valid\nA3;general;Cy;valid\n";
    let (status, checked) = admin.post_bytes(&upload_path(&performance, &source, true), file.as_bytes().to_vec()).await;
    assert_eq!(status, 200, "{checked}");
    assert_eq!(checked["tickets"], 3);
    assert_eq!(checked["preview"]["mapping"]["barcode"], "barcode");
    assert!(checked["imported"].is_null());
    assert!(app.tickets_by_code(&performance).await.is_empty(), "a check imports nothing");

    // One bad row: nothing imported, every bad row named by its line.
    let bad = "barcode,status\nB1,valid\n,valid\nB3,perhaps\n";
    let (status, error) = admin.post_bytes(&upload_path(&performance, &source, false), bad.as_bytes().to_vec()).await;
    assert_eq!(status, 422);
    let error: AppError = serde_json::from_value(error).expect("an AppError");
    let AppError::FileRejected { rows, more: 0 } = error else { panic!("expected rejected rows, got {error:?}") };
    assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), vec![3, 4]);
    assert!(app.tickets_by_code(&performance).await.is_empty());

    let (status, imported) = admin.post_bytes(&upload_path(&performance, &source, false), file.as_bytes().to_vec()).await;
    assert_eq!(status, 200, "{imported}");
    assert_eq!(imported["imported"]["added"], 3);
    // The same file again changes nothing.
    let (_, again) = admin.post_bytes(&upload_path(&performance, &source, false), file.as_bytes().to_vec()).await;
    assert_eq!((again["imported"]["added"].as_u64(), again["imported"]["unchanged"].as_u64()), (Some(0), Some(3)));

    // A later file adds numbers and cancels; what it does not list stays; categories of
    // known numbers do not change (cumulative, SPEC §3).
    let later = "barcode,category,status\nA2,general,cancelled\nA3,upgraded,valid\nA4,vip,valid\n";
    let (_, summary) = admin.post_bytes(&upload_path(&performance, &source, false), later.as_bytes().to_vec()).await;
    assert_eq!(summary["imported"]["added"], 1);
    let tickets = app.tickets_by_code(&performance).await;
    assert_eq!(tickets["A1"], ("valid".to_owned(), "vip".to_owned()));
    assert_eq!(tickets["A2"].0, "cancelled");
    assert_eq!(tickets["A3"], ("valid".to_owned(), "general".to_owned()));
    assert_eq!(tickets["A4"].0, "valid");
    // A cancelled number stays cancelled when an older file lists it valid again.
    admin.post_bytes(&upload_path(&performance, &source, false), file.as_bytes().to_vec()).await;
    assert_eq!(app.tickets_by_code(&performance).await["A2"].0, "cancelled");

    let listed = admin.attachment(&performance).await;
    assert_eq!(listed["tickets"], 4);

    // Detaching removes its tickets and the filters on categories no ticket carries any more.
    admin.call("set_category_filters", json!({"performance": performance, "excluded": ["vip"]})).await.expect("filter");
    admin.call("sources/detach", json!({"performance": performance, "source": source})).await.expect("detach");
    assert!(app.tickets_by_code(&performance).await.is_empty());
    let filters = admin.call("category_filters", json!({"performance": performance})).await.expect("filters");
    assert_eq!(filters, json!([]));
}
on_both_backends!(a_file_import_is_checked_all_or_nothing_and_cumulative);

async fn shotgun_pages_map_states_keep_imports_through_errors_and_recover(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let (institution, performance) = app.a_performance(&admin, "Club").await;
    let token = "sg-secret-token-123";
    let shotgun = ShotgunStandIn::start(token, 77, 3).await.expect("stand-in");
    let statuses = ["valid", "valid", "resold", "refunded", "canceled", "pending_organizer_approval", "valid"];
    for (i, status) in statuses.iter().enumerate() {
        let id = i as u64 + 1;
        shotgun.put_ticket(ShotgunStandIn::ticket(id, 900, &format!("SG{id:04}"), status, if id % 2 == 0 { "VIP" } else { "Early" }));
    }
    let mut scanned = ShotgunStandIn::ticket(8, 900, "SG0008", "valid", "Early");
    scanned["ticket_scanned_at"] = json!("2030-06-01T19:00:00Z");
    shotgun.put_ticket(scanned);
    // Another event's ticket is not this performance's.
    shotgun.put_ticket(ShotgunStandIn::ticket(99, 901, "OTHER", "valid", "Early"));

    // A misconfigured source names the field and the cause.
    let wrong = save_source(&admin, &institution, "shotgun", "Shotgun", json!({"organizer_id": "seventy-seven", "api_url": shotgun.url}), json!({"token": token})).await;
    assert!(matches!(&wrong, Err(AppError::SourceSettings { field, .. }) if field == "organizer_id"), "{wrong:?}");
    let missing = save_source(&admin, &institution, "shotgun", "Shotgun", json!({"organizer_id": "77"}), json!({})).await;
    assert!(matches!(&missing, Err(AppError::SourceSettings { field, .. }) if field == "token"), "{missing:?}");

    let source = save_source(&admin, &institution, "shotgun", "Shotgun", json!({"organizer_id": "77", "api_url": shotgun.url}), json!({"token": token}))
        .await
        .expect("source");
    // The token never comes back, and is not stored in clear.
    let listed = admin.call("sources/list", json!({"institution": institution})).await.expect("list");
    assert!(!listed.to_string().contains(token), "{listed}");
    assert_eq!(listed[0]["secrets_set"], json!(["token"]));
    let stored = app.storage.source(app::domain::SourceId(source.as_i64().expect("id"))).await.expect("read").expect("exists");
    assert!(!stored.sealed_secrets.unwrap_or_default().contains(token));

    let no_event = admin.call("sources/attach", json!({"performance": performance, "source": source, "options": {}})).await;
    assert!(matches!(&no_event, Err(AppError::SourceSettings { field, .. }) if field == "event_id"), "{no_event:?}");
    admin.call("sources/attach", json!({"performance": performance, "source": source, "options": {"event_id": "900"}})).await.expect("attach");

    // The second page fails: the first page stays imported and the error is shown.
    shotgun.fail_next(Fault::TooManyRequests { retry_after_secs: 1 });
    app.partners.refresh_due().await.expect("refresh");
    let after_429 = app.tickets_by_code(&performance).await;
    assert_eq!(after_429.len(), 8, "a 429 is waited out within the refresh: {after_429:?}");
    assert!(admin.attachment(&performance).await["last_error"].is_null());
    let tickets = after_429;
    assert_eq!(tickets["SG0001"], ("valid".to_owned(), "Early".to_owned()));
    assert_eq!(tickets["SG0003"].0, "duplicated");
    assert_eq!(tickets["SG0004"].0, "cancelled");
    assert_eq!(tickets["SG0005"].0, "cancelled");
    assert_eq!(tickets["SG0006"].0, "unknown");
    assert!(!tickets.contains_key("OTHER"));

    // A ticket Shotgun scanned arrives scanned: the door says so.
    admin.call("set_pda_open", json!({"performance": performance, "open": true})).await.expect("PDA");
    let scan = |code: &str, id: &str| json!({"request": {"scan_id": id, "barcode": code, "device": "door-1", "client_time": 0,
                                                          "door": {"performances": [performance], "mode": {"mode": "single_pass"}}}});
    let outcome = admin.call("scan", scan("SG0008", "s-8")).await.expect("scan");
    assert_eq!(outcome["verdict"]["reason"], "already_scanned", "{outcome}");
    assert_eq!(admin.call("scan", scan("SG0001", "s-1")).await.expect("scan")["verdict"]["verdict"], "accepted");

    // Changes at Shotgun: one refund, one new sale; the next refresh asks only from its cursor.
    shotgun.put_ticket(ShotgunStandIn::ticket(2, 900, "SG0002", "refunded", "VIP"));
    for id in 10..=13u64 {
        shotgun.put_ticket(ShotgunStandIn::ticket(id, 900, &format!("SG{id:04}"), "valid", "Late"));
    }
    for fault in [Fault::ServerError, Fault::MalformedJson, Fault::TruncatedPage, Fault::Stall(std::time::Duration::from_secs(3))] {
        // Page one of the changes goes through, page two fails.
        admin.call("sources/refresh", json!({"performance": performance, "source": source})).await.expect("refresh now");
        shotgun.fail_next(fault);
        app.partners.refresh_due().await.expect("refresh");
        let shown = admin.attachment(&performance).await;
        let error = shown["last_error"].as_str().unwrap_or_default().to_owned();
        assert!(!error.is_empty(), "{fault:?}: the error is shown on the source");
        assert!(!error.contains(token), "{fault:?}: the token stays secret: {error}");
        let kept = app.tickets_by_code(&performance).await;
        assert!(kept.len() >= 8, "{fault:?}: nothing imported before is lost");
        assert_eq!(kept["SG0001"].0, "valid");
    }
    admin.call("sources/refresh", json!({"performance": performance, "source": source})).await.expect("refresh now");
    let requests_before = shotgun.ticket_requests();
    app.partners.refresh_due().await.expect("refresh");
    let recovered = app.tickets_by_code(&performance).await;
    assert_eq!(recovered.len(), 12, "{recovered:?}");
    assert_eq!(recovered["SG0002"].0, "cancelled");
    assert_eq!(recovered["SG0013"], ("valid".to_owned(), "Late".to_owned()));
    assert!(admin.attachment(&performance).await["last_error"].is_null());
    assert!(shotgun.ticket_requests() - requests_before <= 2, "incremental: only the pages after the cursor");
    // A scanned ticket keeps its pass through refreshes.
    assert_eq!(admin.call("scan", scan("SG0001", "s-1b")).await.expect("scan")["verdict"]["reason"], "already_scanned");
}
on_both_backends!(shotgun_pages_map_states_keep_imports_through_errors_and_recover);

async fn the_first_source_to_import_a_number_keeps_it(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let (institution, performance) = app.a_performance(&admin, "Festival").await;
    let shotgun = ShotgunStandIn::start("tok", 5, 100).await.expect("stand-in");
    shotgun.put_ticket(ShotgunStandIn::ticket(1, 50, "SHARED", "valid", "Shotgun deal"));
    shotgun.put_ticket(ShotgunStandIn::ticket(2, 50, "ONLYSG", "valid", "Shotgun deal"));
    let file = save_source(&admin, &institution, "file", "Box office", json!({}), json!({})).await.expect("file");
    let web = save_source(&admin, &institution, "shotgun", "Shotgun", json!({"organizer_id": "5", "api_url": shotgun.url}), json!({"token": "tok"}))
        .await
        .expect("shotgun");
    admin.call("sources/attach", json!({"performance": performance, "source": file, "options": {}})).await.expect("attach file");
    let (status, _) = admin
        .post_bytes(&upload_path(&performance, &file, false), b"barcode,category\nSHARED,Box office\nONLYFILE,Box office\n".to_vec())
        .await;
    assert_eq!(status, 200);
    admin.call("sources/attach", json!({"performance": performance, "source": web, "options": {"event_id": "50"}})).await.expect("attach");
    app.partners.refresh_due().await.expect("refresh");

    let tickets = app.tickets_by_code(&performance).await;
    assert_eq!(tickets.len(), 3);
    assert_eq!(tickets["SHARED"].1, "Box office", "the first imported wins");
    let attached = admin.call("sources/of_performance", json!({"performance": performance})).await.expect("list")["attached"].clone();
    let shotgun_row = attached.as_array().expect("list").iter().find(|a| a["name"] == "Shotgun").cloned().expect("shotgun row");
    assert_eq!((shotgun_row["tickets"].as_u64(), shotgun_row["duplicates"].as_u64()), (Some(1), Some(1)));
}
on_both_backends!(the_first_source_to_import_a_number_keeps_it);

async fn one_process_at_a_time_holds_a_lease(backend: support::Backend) {
    let Some(storage) = support::fresh_storage(backend).await else { return };
    assert!(storage.try_lease("refresh:1", "a", 1_000, 61_000).await.expect("lease"));
    assert!(!storage.try_lease("refresh:1", "b", 2_000, 62_000).await.expect("lease"), "held by a");
    assert!(storage.try_lease("refresh:1", "a", 3_000, 63_000).await.expect("renew"), "its holder renews it");
    assert!(storage.try_lease("refresh:2", "b", 3_000, 63_000).await.expect("lease"), "another source is free");
    assert!(storage.try_lease("refresh:1", "b", 63_001, 120_000).await.expect("lease"), "an expired lease is taken over");
    storage.release_lease("refresh:1", "b").await.expect("release");
    assert!(storage.try_lease("refresh:1", "a", 64_000, 120_000).await.expect("lease"));
}
on_both_backends!(one_process_at_a_time_holds_a_lease);

async fn partner_files_go_through_their_own_checks(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let (institution, performance) = app.a_performance(&admin, "Stade").await;

    // Ticketnet: correspondence tables on the source, the event code on the performance.
    let ticketnet = save_source(&admin, &institution, "ticketnet", "Ticketnet",
        json!({"categories": "1=Tribune Nord", "tariffs": "10=Plein:20.00; 11=Réduit:12,50"}), json!({}))
        .await
        .expect("ticketnet source");
    let bad_code = admin.call("sources/attach", json!({"performance": performance, "source": ticketnet, "options": {"event_code": "77_TOO-LONG-SESSION"}})).await;
    assert!(matches!(&bad_code, Err(AppError::SourceSettings { field, .. }) if field == "event_code"), "{bad_code:?}");
    admin.call("sources/attach", json!({"performance": performance, "source": ticketnet, "options": {"event_code": "77"}})).await.expect("attach");
    let header = "BARCODE;EVENT;SESSION;HALL;ZONE;FLOOR;CATEGORY;TARIFF;PRICE;SEAT;LAST_NAME;FIRST_NAME\n";
    let off_grid = format!("{header}02000000000001;77;;;;;1;10;20.00;;Curie;Marie\n02000000000002;77;;;;;1;11;15.00;;;\n");
    let (status, error) = admin.post_bytes(&upload_path(&performance, &ticketnet, false), off_grid.into_bytes()).await;
    assert_eq!(status, 422);
    let message = error.to_string();
    assert!(message.contains("02000000000002") && message.contains("15.00") && message.contains("12.50"), "{message}");
    assert!(app.tickets_by_code(&performance).await.is_empty(), "the price check stops the whole integration");
    let good = format!("{header}02000000000001;77;;;;;1;10;20.00;;Curie;Marie\n02000000000002;77;;;;;1;11;12,50;;;\n");
    let (status, imported) = admin.post_bytes(&upload_path(&performance, &ticketnet, false), good.into_bytes()).await;
    assert_eq!(status, 200, "{imported}");
    assert_eq!(app.tickets_by_code(&performance).await["02000000000001"], ("valid".to_owned(), "Tribune Nord".to_owned()));

    // SecuTix reseller file, no header: a cancelled ticket and a controlled one.
    let secutix = save_source(&admin, &institution, "secutix_reseller", "SecuTix", json!({}), json!({})).await.expect("secutix source");
    let reseller = "10000191230535;PRINTED;F1;P1;Match;2030-06-01;T1;Plein;42.00;2030-05-01;C9\n\
                    10000191230536;CANCELLED;F1;P1;Match;2030-06-01;T1;Plein;42.00;2030-05-01;C9\n\
                    10000191230537;CONTROLLED;F2;P1;Match;2030-06-01;T1;Plein;42.00;2030-05-02;C8\n";
    let (status, imported) = admin.post_bytes(&upload_path(&performance, &secutix, false), reseller.as_bytes().to_vec()).await;
    assert_eq!(status, 200, "{imported}");
    let tickets = app.tickets_by_code(&performance).await;
    assert_eq!(tickets["10000191230536"].0, "cancelled");
    admin.call("set_pda_open", json!({"performance": performance, "open": true})).await.expect("PDA");
    let outcome = admin
        .call("scan", json!({"request": {"scan_id": "st-1", "barcode": "10000191230537", "device": "d", "client_time": 0,
                                          "door": {"performances": [performance], "mode": {"mode": "single_pass"}}}}))
        .await
        .expect("scan");
    assert_eq!(outcome["verdict"]["reason"], "already_scanned", "controlled at SecuTix: {outcome}");
}
on_both_backends!(partner_files_go_through_their_own_checks);

async fn performances_are_created_from_the_partners_events(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let (institution, _) = app.a_performance(&admin, "Salle de concert").await;
    let shotgun = ShotgunStandIn::start("key", 9, 100).await.expect("stand-in");
    shotgun.put_event(json!({"id": 31, "name": "Nuit électro", "startTime": "2031-03-01T22:00:00Z", "timezone": "Europe/Paris", "venue": {"name": "Le Trianon"}}));
    shotgun.put_event(json!({"id": 32, "name": "Nuit électro", "startTime": "2031-03-02T22:00:00Z", "timezone": "Europe/Paris", "venue": {"name": "Le Trianon"}}));
    shotgun.put_event(json!({"id": 30, "name": "Passé", "startTime": "2020-03-02T22:00:00Z", "past": true}));
    shotgun.put_ticket(ShotgunStandIn::ticket(1, 31, "NE-1", "valid", "Early"));
    let source = save_source(&admin, &institution, "shotgun", "Shotgun", json!({"organizer_id": "9", "key_events": "true", "api_url": shotgun.url, "smartboard_url": shotgun.url}), json!({"token": "key"}))
        .await
        .expect("source");

    let listed = admin.call("partner_events", json!({"institution": institution})).await.expect("events");
    let events = listed[0]["events"].as_array().cloned().unwrap_or_default();
    assert_eq!(events.len(), 2, "future events only (Key Events): {listed}");
    assert_eq!(events[0]["venue"], "Le Trianon");
    let first = events.iter().find(|e| e["id"] == "31").cloned().expect("event 31");
    let created = admin.call("create_from_partner", json!({"institution": institution, "source": source, "events": [first]})).await.expect("create");
    assert_eq!(created, 1);
    app.partners.refresh_due().await.expect("refresh");

    let grid = admin.call("performance_grid", json!({"institution": institution, "with_archived": false})).await.expect("grid");
    let row = grid.as_array().expect("rows").iter().find(|r| r["event"] == "Nuit électro").cloned().expect("created row");
    assert_eq!((row["venue"].as_str(), row["total"].as_u64()), (Some("Le Trianon"), Some(1)));
    let again = admin.call("partner_events", json!({"institution": institution})).await.expect("events");
    assert_eq!(again[0]["events"].as_array().map(Vec::len), Some(1), "a created date is not offered again");
}
on_both_backends!(performances_are_created_from_the_partners_events);

/// Without Key Events the listing reads every event of the organisation, past pages too, and
/// records how many it has read, which the back office polls for its progress line.
async fn listing_all_the_organisations_events_reports_its_progress(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let (institution, _) = app.a_performance(&admin, "Salle de concert").await;
    let shotgun = ShotgunStandIn::start("key", 9, 100).await.expect("stand-in");
    // 150 future and 120 past events: two pages of each at 100 a page.
    for id in 0..150 {
        shotgun.put_event(json!({"id": 1000 + id, "name": format!("Concert {id}"), "startTime": "2031-03-01T20:00:00Z", "venue": {"name": "Le Trianon"}}));
    }
    for id in 0..120 {
        shotgun.put_event(json!({"id": 5000 + id, "name": "Passé", "startTime": "2020-03-02T22:00:00Z", "past": true}));
    }
    save_source(&admin, &institution, "shotgun", "Shotgun", json!({"organizer_id": "9", "key_events": "false", "api_url": shotgun.url, "smartboard_url": shotgun.url}), json!({"token": "key"}))
        .await
        .expect("source");
    assert_eq!(admin.call("partner_events_progress", json!({"institution": institution})).await.expect("progress"), 0);

    let listed = admin.call("partner_events", json!({"institution": institution})).await.expect("events");
    assert_eq!(listed[0]["events"].as_array().map(Vec::len), Some(150), "past events are read but not offered");
    assert_eq!(admin.call("partner_events_progress", json!({"institution": institution})).await.expect("progress"), 270, "every event read, past ones too");
    admin
        .call("create_login", json!({"institution": institution, "login": "door", "password": "a long enough password",
                                     "rights": {"admin": false, "pda": true, "backoffice": false}}))
        .await
        .expect("login");
    let door = app.signed_in("door", "a long enough password").await;
    assert_eq!(door.call("partner_events_progress", json!({"institution": institution})).await, Err(AppError::Forbidden));
}
on_both_backends!(listing_all_the_organisations_events_reports_its_progress);

/// Finding 10 of the security review: a partner answering "more" from the same cursor got 151
/// requests in 2.5 s and held the refresher. The refresh stops at the repeat, keeps what it
/// imported and says why on the source.
async fn a_partner_repeating_its_cursor_cannot_hold_the_refresher(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let (institution, performance) = app.a_performance(&admin, "Cave").await;
    let token = "sg-stuck-token";
    let shotgun = ShotgunStandIn::start(token, 78, 1).await.expect("stand-in");
    for id in 1..=3 {
        shotgun.put_ticket(ShotgunStandIn::ticket(id, 910, &format!("ST{id:04}"), "valid", "Early"));
    }
    shotgun.repeat_cursors();
    let source = save_source(&admin, &institution, "shotgun", "Shotgun", json!({"organizer_id": "78", "api_url": shotgun.url}), json!({"token": token}))
        .await
        .expect("source");
    admin.call("sources/attach", json!({"performance": performance, "source": source, "options": {"event_id": "910"}})).await.expect("attach");
    tokio::time::timeout(std::time::Duration::from_secs(20), app.partners.refresh_due())
        .await
        .expect("the refresh ends by itself")
        .expect("refresh");
    assert_eq!(shotgun.ticket_requests(), 2, "the repeat is seen at once");
    let attached = admin.attachment(&performance).await;
    assert!(attached["last_error"].as_str().is_some_and(|e| e.contains("same cursor")), "{attached}");
    assert_eq!(app.tickets_by_code(&performance).await.len(), 2, "what was read is kept");
}
on_both_backends!(a_partner_repeating_its_cursor_cannot_hold_the_refresher);

async fn scans_are_pushed_to_shotgun_once_unless_the_performance_says_not_to(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let (institution, performance) = app.a_performance(&admin, "Péniche").await;
    let quiet = admin.another_performance(&institution).await;
    let shotgun = ShotgunStandIn::start("push-token", 3, 100).await.expect("stand-in");
    for (id, event) in [(1, 70), (2, 70), (3, 71)] {
        shotgun.put_ticket(ShotgunStandIn::ticket(id, event, &format!("P{id}"), "valid", "Deal"));
    }
    let push_url = format!("{}/scans", shotgun.url);
    let source = save_source(&admin, &institution, "shotgun", "Shotgun", json!({"organizer_id": "3", "api_url": shotgun.url, "push_url": push_url}), json!({"token": "push-token"}))
        .await
        .expect("source");
    admin.call("sources/attach", json!({"performance": performance, "source": source, "options": {"event_id": "70"}})).await.expect("attach");
    admin.call("sources/attach", json!({"performance": quiet, "source": source, "options": {"event_id": "71", "do_not_push": "true"}})).await.expect("attach");
    app.partners.refresh_due().await.expect("refresh");
    for p in [&performance, &quiet] {
        admin.call("set_pda_open", json!({"performance": p, "open": true})).await.expect("PDA");
    }
    let scan = |p: &Value, code: &str, id: &str| json!({"request": {"scan_id": id, "barcode": code, "device": "door-2", "client_time": 0,
                                                                      "door": {"performances": [p], "mode": {"mode": "single_pass"}}}});
    admin.call("scan", scan(&performance, "P1", "push-1")).await.expect("scan");
    admin.call("scan", scan(&performance, "P1", "push-1b")).await.expect("a refused repeat is not pushed");
    admin.call("scan", scan(&quiet, "P3", "push-3")).await.expect("scan");

    // The partner fails first: the scan stays queued, the failure is shown, then it goes once.
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    shotgun.fail_next_push(Fault::ServerError);
    app.partners.push_now().await.expect("push");
    assert!(shotgun.pushes().is_empty());
    assert!(admin.attachment(&performance).await["push_error"].as_str().is_some_and(|e| e.contains("500")));
    app.partners.push_now().await.expect("push");
    admin.call("scan", scan(&performance, "P2", "push-2")).await.expect("scan");
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    app.partners.push_now().await.expect("push");
    app.partners.push_now().await.expect("push");
    let pushed: Vec<String> = shotgun.pushes().iter().map(|p| p["ticket_scan_code"].as_str().unwrap_or_default().to_owned()).collect();
    assert_eq!(pushed, vec!["P1", "P2"], "each admission once, in order; none from the do-not-push performance");
    assert!(admin.attachment(&performance).await["push_error"].is_null());
}
on_both_backends!(scans_are_pushed_to_shotgun_once_unless_the_performance_says_not_to);

/// Finding 10 of the security review, the pusher's half: attachments were pushed one after
/// the other, so a partner answering slowly held every other institution's pushes behind it.
/// Each is pushed in a task of its own, within a time budget.
async fn a_slow_partner_delays_no_other_partner_s_pushes(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let (institution, slow_performance) = app.a_performance(&admin, "Lent").await;
    let quick_performance = admin.another_performance(&institution).await;
    let mut sources = Vec::new();
    for (organizer, event, token, codes) in [(4, 80, "slow-token", vec!["SL1", "SL2", "SL3"]), (5, 81, "quick-token", vec!["QK1"])] {
        let shotgun = ShotgunStandIn::start(token, organizer, 100).await.expect("stand-in");
        for (id, code) in codes.iter().enumerate() {
            shotgun.put_ticket(ShotgunStandIn::ticket(id as u64 + 1, event, code, "valid", "Deal"));
        }
        let settings = json!({"organizer_id": organizer.to_string(), "api_url": shotgun.url, "push_url": format!("{}/scans", shotgun.url)});
        let source = save_source(&admin, &institution, "shotgun", token, settings, json!({"token": token})).await.expect("source");
        sources.push((shotgun, source, event, codes));
    }
    // The slow partner's performance comes first, as the pusher walks them.
    for ((_, source, event, _), performance) in sources.iter().zip([&slow_performance, &quick_performance]) {
        admin.call("sources/attach", json!({"performance": performance, "source": source, "options": {"event_id": event.to_string()}})).await.expect("attach");
        admin.call("set_pda_open", json!({"performance": performance, "open": true})).await.expect("PDA");
    }
    app.partners.refresh_due().await.expect("refresh");
    for ((_, _, _, codes), performance) in sources.iter().zip([&slow_performance, &quick_performance]) {
        for code in codes {
            let request = json!({"request": {"scan_id": format!("slow-push-{code}"), "barcode": code, "device": "door-1", "client_time": 0,
                                             "door": {"performances": [performance], "mode": {"mode": "single_pass"}}}});
            admin.call("scan", request).await.expect("scan");
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    let (slow, quick) = (&sources[0].0, &sources[1].0);
    for _ in 0..3 {
        slow.fail_next_push(Fault::Stall(std::time::Duration::from_millis(1_500)));
    }
    let partners = app.partners.clone();
    let started = std::time::Instant::now();
    let pass = tokio::spawn(async move { partners.push_now().await });
    while quick.pushes().is_empty() && started.elapsed() < std::time::Duration::from_secs(6) {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let waited = started.elapsed();
    assert_eq!(quick.pushes().len(), 1, "the quick partner got its scan");
    assert!(waited < std::time::Duration::from_millis(1_200), "pushed after {waited:?}, behind the slow partner's 4.5 s");
    pass.await.expect("push task").expect("push");
    assert!(admin.attachment(&slow_performance).await["push_error"].is_null(), "a slow answer is not a failure");
}
on_both_backends!(a_slow_partner_delays_no_other_partner_s_pushes);

async fn refreshes_stop_at_the_import_end_and_a_deleted_source_takes_its_tickets(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let root = app.storage.root_institution().await.expect("root").expect("exists").id;
    let institution = admin.call("create_institution", json!({"parent": root, "name": "Cirque"})).await.expect("institution")["id"].clone();
    let venue = admin.call("create_venue", json!({"institution": institution, "name": "Chapiteau", "time_zone": "Europe/Paris"})).await.expect("venue");
    let event = admin.call("create_event", json!({"venue": venue, "name": "Tournée"})).await.expect("event");
    let closed = admin
        .call("create_performance", json!({"event": event, "label": "", "starts_at": "2030-06-01T20:00",
                                           "valid_from": null, "valid_to": null, "import_end": "2020-01-01T00:00"}))
        .await
        .expect("performance");
    let shotgun = ShotgunStandIn::start("tok", 5, 100).await.expect("stand-in");
    shotgun.put_ticket(ShotgunStandIn::ticket(1, 50, "SG-END-1", "valid", "Early"));
    let source = save_source(&admin, &institution, "shotgun", "Shotgun", json!({"organizer_id": "5", "api_url": shotgun.url}), json!({"token": "tok"}))
        .await
        .expect("shotgun");
    admin.call("sources/attach", json!({"performance": closed, "source": source, "options": {"event_id": "50"}})).await.expect("attach");

    // Past its import end the scheduler leaves the performance alone; "refresh now" still works.
    app.partners.refresh_due().await.expect("refresh");
    assert!(app.tickets_by_code(&closed).await.is_empty(), "no refresh after the import end");
    assert_eq!(shotgun.ticket_requests(), 0);
    admin.call("sources/refresh", json!({"performance": closed, "source": source})).await.expect("refresh now");
    app.partners.refresh_due().await.expect("refresh");
    assert_eq!(app.tickets_by_code(&closed).await.len(), 1, "a person asked");
    app.partners.refresh_due().await.expect("refresh");
    assert_eq!(shotgun.ticket_requests(), 1, "and only once");

    // Deleting the source detaches it and removes the tickets it imported.
    admin.call("sources/delete", json!({"source": source})).await.expect("delete");
    assert!(app.tickets_by_code(&closed).await.is_empty());
    assert!(admin.attachment(&closed).await.is_null());
    assert!(admin.call("sources/list", json!({"institution": institution})).await.expect("list").as_array().is_some_and(Vec::is_empty));
}
on_both_backends!(refreshes_stop_at_the_import_end_and_a_deleted_source_takes_its_tickets);

async fn resave(admin: &Client, institution: &Value, source: &Value, settings: Value, secrets: Value) -> Result<Value, AppError> {
    admin
        .call("sources/save", json!({"institution": institution, "source": source, "kind": "shotgun", "name": "Shotgun",
                                      "settings": settings, "secrets": secrets, "periods": periods()}))
        .await
}

/// A stored secret goes only where it was typed for: moving an address asks for every secret
/// again (security review, finding 6).
async fn a_new_partner_address_needs_the_secrets_typed_again(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let (institution, performance) = app.a_performance(&admin, "Salle des fêtes").await;
    let token = "SECRET-TOKEN-probe-7731";
    let partner = ShotgunStandIn::start(token, 42, 100).await.expect("stand-in");
    partner.put_ticket(ShotgunStandIn::ticket(1, 5, "SG-KEPT-1", "valid", "Early"));
    // Someone else's listener, which would accept the token.
    let listener = ShotgunStandIn::start(token, 42, 100).await.expect("listener");
    let source = save_source(&admin, &institution, "shotgun", "Shotgun", json!({"organizer_id": "42", "api_url": partner.url}), json!({"token": token}))
        .await
        .expect("source");

    // The same addresses and a blank secret: the stored token is kept.
    resave(&admin, &institution, &source, json!({"organizer_id": "42", "api_url": partner.url}), json!({"token": ""})).await.expect("kept");
    // Another address (tickets or scans) and a blank secret: refused, naming the secret.
    for settings in [
        json!({"organizer_id": "42", "api_url": listener.url}),
        json!({"organizer_id": "42", "api_url": partner.url, "push_url": format!("{}/scans", listener.url)}),
        json!({"organizer_id": "42"}),
    ] {
        let moved = resave(&admin, &institution, &source, settings.clone(), json!({"token": " "})).await;
        assert!(matches!(&moved, Err(AppError::SourceSettings { field, .. }) if field == "token"), "{settings}: {moved:?}");
    }
    admin.call("sources/attach", json!({"performance": performance, "source": source, "options": {"event_id": "5"}})).await.expect("attach");
    app.partners.refresh_due().await.expect("refresh");
    assert_eq!(listener.ticket_requests(), 0, "the token never went to the new address");
    assert_eq!(app.tickets_by_code(&performance).await.len(), 1, "the source still reads its partner");

    // Typed again, the new address is taken.
    resave(&admin, &institution, &source, json!({"organizer_id": "42", "api_url": listener.url}), json!({"token": "a-new-token"}))
        .await
        .expect("a new address with its secret");
}
on_both_backends!(a_new_partner_address_needs_the_secrets_typed_again);

/// In production partners are reached over https on public addresses only, checked when the
/// source is saved and again at each request (security review, finding 6).
async fn partner_addresses_are_public_and_https(backend: support::Backend) {
    use server::sources::addresses::AddressPolicy;
    let Some(app) = support::spawn_app_reaching(backend, AddressPolicy::PublicHttps).await else { return };
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let (institution, performance) = app.a_performance(&admin, "Auditorium").await;
    let shotgun = ShotgunStandIn::start("tok", 5, 100).await.expect("stand-in");
    shotgun.put_ticket(ShotgunStandIn::ticket(1, 50, "SG-PRIV-1", "valid", "Early"));
    for (field, address) in [
        ("api_url", shotgun.url.clone()),
        ("api_url", shotgun.url.replace("http://", "https://")),
        ("api_url", "https://10.0.0.1".to_owned()),
        ("api_url", "https://169.254.169.254/latest/meta-data".to_owned()),
        ("api_url", "https://[fd00:ec2::254]".to_owned()),
        ("api_url", "https://100.64.0.7".to_owned()),
        ("api_url", "https://localhost:8443".to_owned()),
        ("push_url", "https://192.168.1.20/scans".to_owned()),
        ("smartboard_url", "https://[::ffff:127.0.0.1]/".to_owned()),
    ] {
        let saved = save_source(&admin, &institution, "shotgun", "Shotgun", json!({"organizer_id": "5", field: address}), json!({"token": "tok"})).await;
        assert!(matches!(&saved, Err(AppError::SourceSettings { field: named, .. }) if named == field), "{address}: {saved:?}");
    }
    // Shotgun's own address is fine.
    save_source(&admin, &institution, "shotgun", "Shotgun", json!({"organizer_id": "5"}), json!({"token": "tok"})).await.expect("public https");

    // An address stored before (or around) the check is refused when the request is made.
    let sealed = app.partners.secrets.seal(&[("token".to_owned(), "tok".to_owned())].into_iter().collect());
    let settings = [("organizer_id", "5".to_owned()), ("api_url", shotgun.url.clone())].into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    let new = app::backend::storage::NewSource {
        institution: app::domain::InstitutionId(institution.as_i64().expect("id")),
        kind: app::domain::SourceKind::Shotgun,
        name: "Stored".to_owned(),
        settings,
        sealed_secrets: Some(sealed),
        periods: app::domain::RefreshPeriods { long_minutes: 240, short_minutes: 5, short_window_hours: 24 },
    };
    let stored = app.storage.create_source(&new).await.expect("stored address");
    let options = [("event_id".to_owned(), "50".to_owned())].into_iter().collect();
    let id = app::engine::PerformanceId(performance.as_i64().expect("id"));
    app.storage.attach_source(id, stored, &options, app::backend::now_millis()).await.expect("attach");
    app.partners.refresh_due().await.expect("refresh");
    assert_eq!(shotgun.ticket_requests(), 0, "no request to a private address");
    let error = admin.attachment(&performance).await["last_error"].as_str().unwrap_or_default().to_owned();
    assert!(error.contains("api_url"), "the refresh names the address: {error}");
}
on_both_backends!(partner_addresses_are_public_and_https);

/// Source settings and running sources belong to the institution's admins (SPEC §2): other
/// back-office logins see the attachments only (security review, finding 17).
async fn only_admins_see_source_settings_and_run_sources(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let (institution, performance) = app.a_performance(&admin, "Bibliothèque").await;
    let shotgun = ShotgunStandIn::start("tok", 5, 100).await.expect("stand-in");
    let web = save_source(&admin, &institution, "shotgun", "Shotgun", json!({"organizer_id": "5", "api_url": shotgun.url}), json!({"token": "tok"}))
        .await
        .expect("shotgun");
    let file = save_source(&admin, &institution, "file", "Billetterie", json!({}), json!({})).await.expect("file");
    admin.call("sources/attach", json!({"performance": performance, "source": web, "options": {"event_id": "50"}})).await.expect("attach");
    admin
        .call("create_login", json!({"institution": institution, "login": "office", "password": "a long enough password",
                                     "rights": {"admin": false, "pda": false, "backoffice": true}}))
        .await
        .expect("login");
    let office = app.signed_in("office", "a long enough password").await;

    let seen = office.call("sources/of_performance", json!({"performance": performance})).await.expect("attachments");
    assert_eq!(seen["attached"].as_array().map(Vec::len), Some(1), "{seen}");
    assert_eq!(seen["available"], json!([]), "no settings of other sources");
    assert_eq!(seen["manage"], json!(false));
    assert!(!seen.to_string().contains(&shotgun.url), "{seen}");
    for (function, source) in [("sources/attach", &file), ("sources/detach", &web), ("sources/refresh", &web)] {
        let answer = office.call(function, json!({"performance": performance, "source": source, "options": {}})).await;
        assert_eq!(answer, Err(AppError::Forbidden), "{function}");
    }
    let by_admin = admin.call("sources/of_performance", json!({"performance": performance})).await.expect("attachments");
    assert_eq!(by_admin["available"].as_array().map(Vec::len), Some(1));
    assert_eq!(by_admin["manage"], json!(true));
    assert_eq!(by_admin["attached"].as_array().map(Vec::len), Some(1), "nothing was detached");
}
on_both_backends!(only_admins_see_source_settings_and_run_sources);
