//! Sources over HTTP and through the refresher, on both databases: the file source (check,
//! all-or-nothing import, cumulative re-imports, cancellations), Shotgun against its stand-in
//! (pages, states, errors that keep what was imported, recovery), several sources on one
//! performance, secrets that never come back, and the refresh lease.

use crate::support;

use app::domain::{FieldValues, InstitutionId, SourceId, SourceKind};
use app::engine::{Mode, PerformanceId, Refusal, Verdict};
use app::error::AppError;
use app::sync::protocol::{Door, ScanRequest};
use serde_json::json;
use standins::Fault;
use standins::shotgun::ShotgunStandIn;
use support::api::{
    AttachSource, CategoryFilters, CreateEvent, CreateFromPartner, CreateInstitution, CreateLogin, CreatePerformance, CreateVenue, DeleteSource, DetachSource, InstitutionSources,
    PartnerEvents, PartnerEventsProgress, PerformanceGrid, PerformanceSources, RefreshSource, SaveSource, Scan,
    SetCategoryFilters, SetPdaOpen,
};
use support::world::{CLERK, DOOR};
use support::{ADMIN_PASSWORD, Client, PASSWORD, fields};

async fn save_source(admin: &Client, institution: InstitutionId, kind: SourceKind, name: &str, settings: FieldValues, secrets: FieldValues) -> Result<SourceId, AppError> {
    admin.call(SaveSource { institution, source: None, kind, name: name.to_owned(), settings, secrets, periods: Default::default() }).await
}

async fn attach(admin: &Client, performance: PerformanceId, source: SourceId, options: FieldValues) -> Result<(), AppError> {
    admin.call(AttachSource { performance, source, options }).await
}

/// A door's online scan at a single-pass door of `performance`: the verdict.
async fn scan(client: &Client, performance: PerformanceId, barcode: &str, scan_id: &str, device: &str) -> Verdict {
    let door = Door { performances: vec![performance], mode: Mode::SinglePass, gate: None };
    let request = ScanRequest { scan_id: scan_id.into(), barcode: barcode.into(), device: device.into(), client_time: 0, door };
    client.call(Scan { request }).await.expect("scan").verdict
}

fn is_already_scanned(verdict: &Verdict) -> bool {
    matches!(verdict, Verdict::Refused { reason: Refusal::AlreadyScanned { .. } })
}

async fn a_file_import_is_checked_all_or_nothing_and_cumulative(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let (institution, performance) = app.a_performance(&admin, "Théâtre").await;
    let source = save_source(&admin, institution, SourceKind::File, "Billetterie", fields([]), fields([])).await.expect("file source");
    assert!(
        matches!(save_source(&admin, institution, SourceKind::File, "Encore", fields([]), fields([])).await, Err(AppError::AlreadyExists(_))),
        "one file source per institution"
    );
    attach(&admin, performance, source, fields([])).await.expect("attach");

    let file = "barcode;category;holder_name;status\nA1;vip;Ada;valid\nA2;general;Bob;valid\nA3;general;Cy;valid\n";
    let (status, checked) = admin.upload(performance, source, "tickets.csv", true, file.as_bytes()).await;
    assert_eq!(status, 200, "{checked:?}");
    let checked = checked.expect("checked");
    assert_eq!(checked.tickets, 3);
    assert_eq!(checked.preview.mapping["barcode"], "barcode");
    assert!(checked.imported.is_none());
    assert!(app.tickets_by_code(performance).await.is_empty(), "a check imports nothing");

    // One bad row: nothing imported, every bad row named by its line.
    let bad = "barcode,status\nB1,valid\n,valid\nB3,perhaps\n";
    let (status, error) = admin.upload(performance, source, "tickets.csv", false, bad.as_bytes()).await;
    assert_eq!(status, 422);
    let error = error.expect_err("an AppError");
    let AppError::FileRejected { rows, more: 0 } = error else { panic!("expected rejected rows, got {error:?}") };
    assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), vec![3, 4]);
    assert!(app.tickets_by_code(performance).await.is_empty());

    let (status, imported) = admin.upload(performance, source, "tickets.csv", false, file.as_bytes()).await;
    assert_eq!(status, 200, "{imported:?}");
    assert_eq!(imported.expect("imported").imported.expect("a summary").added, 3);
    // The same file again changes nothing.
    let (_, again) = admin.upload(performance, source, "tickets.csv", false, file.as_bytes()).await;
    let again = again.expect("imported").imported.expect("a summary");
    assert_eq!((again.added, again.unchanged), (0, 3));

    // A later file adds numbers and cancels; what it does not list stays; categories of
    // known numbers do not change (cumulative, SPEC §3).
    let later = "barcode,category,status\nA2,general,cancelled\nA3,upgraded,valid\nA4,vip,valid\n";
    let (_, summary) = admin.upload(performance, source, "tickets.csv", false, later.as_bytes()).await;
    assert_eq!(summary.expect("imported").imported.expect("a summary").added, 1);
    let tickets = app.tickets_by_code(performance).await;
    assert_eq!(tickets["A1"], ("valid".to_owned(), "vip".to_owned()));
    assert_eq!(tickets["A2"].0, "cancelled");
    assert_eq!(tickets["A3"], ("valid".to_owned(), "general".to_owned()));
    assert_eq!(tickets["A4"].0, "valid");
    // A cancelled number stays cancelled when an older file lists it valid again.
    let (status, _) = admin.upload(performance, source, "tickets.csv", false, file.as_bytes()).await;
    assert_eq!(status, 200);
    assert_eq!(app.tickets_by_code(performance).await["A2"].0, "cancelled");

    let listed = admin.attachment(performance).await;
    assert_eq!(listed.tickets, 4);

    // Detaching removes its tickets and the filters on categories no ticket carries any more.
    admin.call(SetCategoryFilters { performance, excluded: vec!["vip".into()] }).await.expect("filter");
    admin.call(DetachSource { performance, source, passes_confirmed: None }).await.expect("detach");
    assert!(app.tickets_by_code(performance).await.is_empty());
    let filters = admin.call(CategoryFilters { performance }).await.expect("filters");
    assert_eq!(filters, vec![]);
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
    let wrong = save_source(&admin, institution, SourceKind::Shotgun, "Shotgun", fields([("organizer_id", "seventy-seven"), ("api_url", &shotgun.url)]), fields([("token", token)])).await;
    assert!(matches!(&wrong, Err(AppError::SourceSettings { field, .. }) if field == "organizer_id"), "{wrong:?}");
    let missing = save_source(&admin, institution, SourceKind::Shotgun, "Shotgun", fields([("organizer_id", "77")]), fields([])).await;
    assert!(matches!(&missing, Err(AppError::SourceSettings { field, .. }) if field == "token"), "{missing:?}");

    let source = save_source(&admin, institution, SourceKind::Shotgun, "Shotgun", fields([("organizer_id", "77"), ("api_url", &shotgun.url)]), fields([("token", token)]))
        .await
        .expect("source");
    // The token never comes back, and is not stored in clear.
    let listed = admin.call(InstitutionSources { institution }).await.expect("list");
    assert!(!format!("{listed:?}").contains(token), "{listed:?}");
    assert_eq!(listed[0].secrets_set, ["token"]);
    let stored = app.storage.source(source).await.expect("read").expect("exists");
    assert!(!stored.sealed_secrets.unwrap_or_default().contains(token));

    let no_event = attach(&admin, performance, source, fields([])).await;
    assert!(matches!(&no_event, Err(AppError::SourceSettings { field, .. }) if field == "event_id"), "{no_event:?}");
    attach(&admin, performance, source, fields([("event_id", "900")])).await.expect("attach");

    // The second page fails: the first page stays imported and the error is shown.
    shotgun.fail_next(Fault::TooManyRequests { retry_after_secs: 1 });
    app.partners.refresh_due().await.expect("refresh");
    let after_429 = app.tickets_by_code(performance).await;
    assert_eq!(after_429.len(), 8, "a 429 is waited out within the refresh: {after_429:?}");
    assert!(admin.attachment(performance).await.last_error.is_none());
    let tickets = after_429;
    assert_eq!(tickets["SG0001"], ("valid".to_owned(), "Early".to_owned()));
    assert_eq!(tickets["SG0003"].0, "duplicated");
    assert_eq!(tickets["SG0004"].0, "cancelled");
    assert_eq!(tickets["SG0005"].0, "cancelled");
    assert_eq!(tickets["SG0006"].0, "unknown");
    assert!(!tickets.contains_key("OTHER"));

    // A ticket Shotgun scanned arrives scanned: the door says so.
    admin.call(SetPdaOpen { performance, open: true }).await.expect("PDA");
    let verdict = scan(&admin, performance, "SG0008", "s-8", "door-1").await;
    assert!(is_already_scanned(&verdict), "{verdict:?}");
    assert!(scan(&admin, performance, "SG0001", "s-1", "door-1").await.is_accepted());

    // Changes at Shotgun: one refund, one new sale; the next refresh asks only from its cursor.
    shotgun.put_ticket(ShotgunStandIn::ticket(2, 900, "SG0002", "refunded", "VIP"));
    for id in 10..=13u64 {
        shotgun.put_ticket(ShotgunStandIn::ticket(id, 900, &format!("SG{id:04}"), "valid", "Late"));
    }
    for fault in [Fault::ServerError, Fault::MalformedJson, Fault::TruncatedPage, Fault::Stall(std::time::Duration::from_secs(3))] {
        // Page one of the changes goes through, page two fails.
        admin.call(RefreshSource { performance, source }).await.expect("refresh now");
        shotgun.fail_next(fault);
        app.partners.refresh_due().await.expect("refresh");
        let error = admin.attachment(performance).await.last_error.unwrap_or_default();
        assert!(!error.is_empty(), "{fault:?}: the error is shown on the source");
        assert!(!error.contains(token), "{fault:?}: the token stays secret: {error}");
        let kept = app.tickets_by_code(performance).await;
        assert!(kept.len() >= 8, "{fault:?}: nothing imported before is lost");
        assert_eq!(kept["SG0001"].0, "valid");
    }
    admin.call(RefreshSource { performance, source }).await.expect("refresh now");
    let requests_before = shotgun.ticket_requests();
    app.partners.refresh_due().await.expect("refresh");
    let recovered = app.tickets_by_code(performance).await;
    assert_eq!(recovered.len(), 12, "{recovered:?}");
    assert_eq!(recovered["SG0002"].0, "cancelled");
    assert_eq!(recovered["SG0013"], ("valid".to_owned(), "Late".to_owned()));
    assert!(admin.attachment(performance).await.last_error.is_none());
    assert!(shotgun.ticket_requests() - requests_before <= 2, "incremental: only the pages after the cursor");
    // A scanned ticket keeps its pass through refreshes.
    assert!(is_already_scanned(&scan(&admin, performance, "SG0001", "s-1b", "door-1").await));
}
on_both_backends!(shotgun_pages_map_states_keep_imports_through_errors_and_recover);

async fn the_first_source_to_import_a_number_keeps_it(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let (institution, performance) = app.a_performance(&admin, "Festival").await;
    let shotgun = ShotgunStandIn::start("tok", 5, 100).await.expect("stand-in");
    shotgun.put_ticket(ShotgunStandIn::ticket(1, 50, "SHARED", "valid", "Shotgun deal"));
    shotgun.put_ticket(ShotgunStandIn::ticket(2, 50, "ONLYSG", "valid", "Shotgun deal"));
    let file = save_source(&admin, institution, SourceKind::File, "Box office", fields([]), fields([])).await.expect("file");
    let web = save_source(&admin, institution, SourceKind::Shotgun, "Shotgun", fields([("organizer_id", "5"), ("api_url", &shotgun.url)]), fields([("token", "tok")]))
        .await
        .expect("shotgun");
    attach(&admin, performance, file, fields([])).await.expect("attach file");
    let (status, _) = admin.upload(performance, file, "tickets.csv", false, b"barcode,category\nSHARED,Box office\nONLYFILE,Box office\n").await;
    assert_eq!(status, 200);
    attach(&admin, performance, web, fields([("event_id", "50")])).await.expect("attach");
    app.partners.refresh_due().await.expect("refresh");

    let tickets = app.tickets_by_code(performance).await;
    assert_eq!(tickets.len(), 3);
    assert_eq!(tickets["SHARED"].1, "Box office", "the first imported wins");
    let attached = admin.call(PerformanceSources { performance }).await.expect("list").attached;
    let shotgun_row = attached.into_iter().find(|a| a.name == "Shotgun").expect("shotgun row");
    assert_eq!((shotgun_row.tickets, shotgun_row.duplicates), (1, 1));
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
    let ticketnet = save_source(&admin, institution, SourceKind::Ticketnet, "Ticketnet",
        fields([("categories", "1=Tribune Nord"), ("tariffs", "10=Plein:20.00; 11=Réduit:12,50")]), fields([]))
        .await
        .expect("ticketnet source");
    let bad_code = attach(&admin, performance, ticketnet, fields([("event_code", "77_TOO-LONG-SESSION")])).await;
    assert!(matches!(&bad_code, Err(AppError::SourceSettings { field, .. }) if field == "event_code"), "{bad_code:?}");
    attach(&admin, performance, ticketnet, fields([("event_code", "77")])).await.expect("attach");
    let header = "BARCODE;EVENT;SESSION;HALL;ZONE;FLOOR;CATEGORY;TARIFF;PRICE;SEAT;LAST_NAME;FIRST_NAME\n";
    let off_grid = format!("{header}02000000000001;77;;;;;1;10;20.00;;Curie;Marie\n02000000000002;77;;;;;1;11;15.00;;;\n");
    let (status, error) = admin.upload(performance, ticketnet, "tickets.csv", false, off_grid.as_bytes()).await;
    assert_eq!(status, 422);
    let message = format!("{:?}", error.expect_err("rejected"));
    assert!(message.contains("02000000000002") && message.contains("15.00") && message.contains("12.50"), "{message}");
    assert!(app.tickets_by_code(performance).await.is_empty(), "the price check stops the whole integration");
    let good = format!("{header}02000000000001;77;;;;;1;10;20.00;;Curie;Marie\n02000000000002;77;;;;;1;11;12,50;;;\n");
    let (status, imported) = admin.upload(performance, ticketnet, "tickets.csv", false, good.as_bytes()).await;
    assert_eq!(status, 200, "{imported:?}");
    assert_eq!(app.tickets_by_code(performance).await["02000000000001"], ("valid".to_owned(), "Tribune Nord".to_owned()));

    // SecuTix reseller file, no header: a cancelled ticket and a controlled one.
    let secutix = save_source(&admin, institution, SourceKind::SecutixReseller, "SecuTix", fields([]), fields([])).await.expect("secutix source");
    let reseller = "10000191230535;PRINTED;F1;P1;Match;2030-06-01;T1;Plein;42.00;2030-05-01;C9\n\
                    10000191230536;CANCELLED;F1;P1;Match;2030-06-01;T1;Plein;42.00;2030-05-01;C9\n\
                    10000191230537;CONTROLLED;F2;P1;Match;2030-06-01;T1;Plein;42.00;2030-05-02;C8\n";
    let (status, imported) = admin.upload(performance, secutix, "tickets.csv", false, reseller.as_bytes()).await;
    assert_eq!(status, 200, "{imported:?}");
    let tickets = app.tickets_by_code(performance).await;
    assert_eq!(tickets["10000191230536"].0, "cancelled");
    admin.call(SetPdaOpen { performance, open: true }).await.expect("PDA");
    let verdict = scan(&admin, performance, "10000191230537", "st-1", "d").await;
    assert!(is_already_scanned(&verdict), "controlled at SecuTix: {verdict:?}");
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
    let source = save_source(&admin, institution, SourceKind::Shotgun, "Shotgun", fields([("organizer_id", "9"), ("key_events", "true"), ("api_url", &shotgun.url), ("smartboard_url", &shotgun.url)]), fields([("token", "key")]))
        .await
        .expect("source");

    let listed = admin.call(PartnerEvents { institution }).await.expect("events");
    let events = listed.first().map(|source| source.events.clone()).unwrap_or_default();
    assert_eq!(events.len(), 2, "future events only (Key Events): {listed:?}");
    assert_eq!(events[0].venue, "Le Trianon");
    let first = events.iter().find(|e| e.id == "31").cloned().expect("event 31");
    let created = admin.call(CreateFromPartner { institution, source, events: vec![first] }).await.expect("create");
    assert_eq!(created, 1);
    app.partners.refresh_due().await.expect("refresh");

    let grid = admin.call(PerformanceGrid { institution, with_archived: false }).await.expect("grid");
    let row = grid.into_iter().find(|r| r.event == "Nuit électro").expect("created row");
    assert_eq!((row.venue.as_str(), row.total), ("Le Trianon", 1));
    let again = admin.call(PartnerEvents { institution }).await.expect("events");
    assert_eq!(again.first().map(|source| source.events.len()), Some(1), "a created date is not offered again");
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
    save_source(&admin, institution, SourceKind::Shotgun, "Shotgun", fields([("organizer_id", "9"), ("key_events", "false"), ("api_url", &shotgun.url), ("smartboard_url", &shotgun.url)]), fields([("token", "key")]))
        .await
        .expect("source");
    assert_eq!(admin.call(PartnerEventsProgress { institution }).await.expect("progress"), 0);

    let listed = admin.call(PartnerEvents { institution }).await.expect("events");
    assert_eq!(listed.first().map(|source| source.events.len()), Some(150), "past events are read but not offered");
    assert_eq!(admin.call(PartnerEventsProgress { institution }).await.expect("progress"), 270, "every event read, past ones too");
    admin.call(CreateLogin { institution, login: "door".into(), password: PASSWORD.into(), rights: DOOR }).await.expect("login");
    let door = app.signed_in("door", PASSWORD).await;
    assert_eq!(door.call(PartnerEventsProgress { institution }).await, Err(AppError::Forbidden));
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
    let source = save_source(&admin, institution, SourceKind::Shotgun, "Shotgun", fields([("organizer_id", "78"), ("api_url", &shotgun.url)]), fields([("token", token)]))
        .await
        .expect("source");
    attach(&admin, performance, source, fields([("event_id", "910")])).await.expect("attach");
    tokio::time::timeout(std::time::Duration::from_secs(20), app.partners.refresh_due())
        .await
        .expect("the refresh ends by itself")
        .expect("refresh");
    assert_eq!(shotgun.ticket_requests(), 2, "the repeat is seen at once");
    let attached = admin.attachment(performance).await;
    assert!(attached.last_error.as_ref().is_some_and(|e| e.contains("same cursor")), "{attached:?}");
    assert_eq!(app.tickets_by_code(performance).await.len(), 2, "what was read is kept");
}
on_both_backends!(a_partner_repeating_its_cursor_cannot_hold_the_refresher);

async fn scans_are_pushed_to_shotgun_once_unless_the_performance_says_not_to(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let (institution, performance) = app.a_performance(&admin, "Péniche").await;
    let quiet = admin.another_performance(institution).await;
    let shotgun = ShotgunStandIn::start("push-token", 3, 100).await.expect("stand-in");
    for (id, event) in [(1, 70), (2, 70), (3, 71)] {
        shotgun.put_ticket(ShotgunStandIn::ticket(id, event, &format!("P{id}"), "valid", "Deal"));
    }
    let push_url = format!("{}/scans", shotgun.url);
    let source = save_source(&admin, institution, SourceKind::Shotgun, "Shotgun", fields([("organizer_id", "3"), ("api_url", &shotgun.url), ("push_url", &push_url)]), fields([("token", "push-token")]))
        .await
        .expect("source");
    attach(&admin, performance, source, fields([("event_id", "70")])).await.expect("attach");
    attach(&admin, quiet, source, fields([("event_id", "71"), ("do_not_push", "true")])).await.expect("attach");
    app.partners.refresh_due().await.expect("refresh");
    for performance in [performance, quiet] {
        admin.call(SetPdaOpen { performance, open: true }).await.expect("PDA");
    }
    scan(&admin, performance, "P1", "push-1", "door-2").await;
    // A refused repeat is not pushed.
    scan(&admin, performance, "P1", "push-1b", "door-2").await;
    scan(&admin, quiet, "P3", "push-3", "door-2").await;

    // The partner fails first: the scan stays queued, the failure is shown, then it goes once.
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    shotgun.fail_next_push(Fault::ServerError);
    app.partners.push_now().await.expect("push");
    assert!(shotgun.pushes().is_empty());
    assert!(admin.attachment(performance).await.push_error.is_some_and(|e| e.contains("500")));
    app.partners.push_now().await.expect("push");
    scan(&admin, performance, "P2", "push-2", "door-2").await;
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    app.partners.push_now().await.expect("push");
    app.partners.push_now().await.expect("push");
    let pushed: Vec<String> = shotgun.pushes().iter().map(|p| p["ticket_scan_code"].as_str().unwrap_or_default().to_owned()).collect();
    assert_eq!(pushed, vec!["P1", "P2"], "each admission once, in order; none from the do-not-push performance");
    assert!(admin.attachment(performance).await.push_error.is_none());
}
on_both_backends!(scans_are_pushed_to_shotgun_once_unless_the_performance_says_not_to);

/// Finding 10 of the security review, the pusher's half: attachments were pushed one after
/// the other, so a partner answering slowly held every other institution's pushes behind it.
/// Each is pushed in a task of its own, within a time budget.
async fn a_slow_partner_delays_no_other_partner_s_pushes(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let (institution, slow_performance) = app.a_performance(&admin, "Lent").await;
    let quick_performance = admin.another_performance(institution).await;
    let mut sources = Vec::new();
    for (organizer, event, token, codes) in [(4, 80, "slow-token", vec!["SL1", "SL2", "SL3"]), (5, 81, "quick-token", vec!["QK1"])] {
        let shotgun = ShotgunStandIn::start(token, organizer, 100).await.expect("stand-in");
        for (id, code) in codes.iter().enumerate() {
            shotgun.put_ticket(ShotgunStandIn::ticket(id as u64 + 1, event, code, "valid", "Deal"));
        }
        let settings = fields([("organizer_id", &organizer.to_string()), ("api_url", &shotgun.url), ("push_url", &format!("{}/scans", shotgun.url))]);
        let source = save_source(&admin, institution, SourceKind::Shotgun, token, settings, fields([("token", token)])).await.expect("source");
        sources.push((shotgun, source, event, codes));
    }
    // The slow partner's performance comes first, as the pusher walks them.
    for ((_, source, event, _), performance) in sources.iter().zip([slow_performance, quick_performance]) {
        attach(&admin, performance, *source, fields([("event_id", &event.to_string())])).await.expect("attach");
        admin.call(SetPdaOpen { performance, open: true }).await.expect("PDA");
    }
    app.partners.refresh_due().await.expect("refresh");
    for ((_, _, _, codes), performance) in sources.iter().zip([slow_performance, quick_performance]) {
        for code in codes {
            scan(&admin, performance, code, &format!("slow-push-{code}"), "door-1").await;
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
    assert!(admin.attachment(slow_performance).await.push_error.is_none(), "a slow answer is not a failure");
}
on_both_backends!(a_slow_partner_delays_no_other_partner_s_pushes);

async fn refreshes_stop_at_the_import_end_and_a_deleted_source_takes_its_tickets(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let root = app.storage.root_institution().await.expect("root").expect("exists").id;
    let institution = admin.call(CreateInstitution { parent: root, name: "Cirque".into() }).await.expect("institution").id;
    let venue = admin.call(CreateVenue { institution, name: "Chapiteau".into(), time_zone: "Europe/Paris".into() }).await.expect("venue");
    let event = admin.call(CreateEvent { venue, name: "Tournée".into() }).await.expect("event");
    let closed = admin
        .call(CreatePerformance {
            event,
            label: String::new(),
            starts_at: Some("2030-06-01T20:00".into()),
            valid_from: None,
            valid_to: None,
            import_end: Some("2020-01-01T00:00".into()),
        })
        .await
        .expect("performance");
    let shotgun = ShotgunStandIn::start("tok", 5, 100).await.expect("stand-in");
    shotgun.put_ticket(ShotgunStandIn::ticket(1, 50, "SG-END-1", "valid", "Early"));
    let source = save_source(&admin, institution, SourceKind::Shotgun, "Shotgun", fields([("organizer_id", "5"), ("api_url", &shotgun.url)]), fields([("token", "tok")]))
        .await
        .expect("shotgun");
    attach(&admin, closed, source, fields([("event_id", "50")])).await.expect("attach");

    // Past its import end the scheduler leaves the performance alone; "refresh now" still works.
    app.partners.refresh_due().await.expect("refresh");
    assert!(app.tickets_by_code(closed).await.is_empty(), "no refresh after the import end");
    assert_eq!(shotgun.ticket_requests(), 0);
    admin.call(RefreshSource { performance: closed, source }).await.expect("refresh now");
    app.partners.refresh_due().await.expect("refresh");
    assert_eq!(app.tickets_by_code(closed).await.len(), 1, "a person asked");
    app.partners.refresh_due().await.expect("refresh");
    assert_eq!(shotgun.ticket_requests(), 1, "and only once");

    // Deleting the source detaches it and removes the tickets it imported.
    admin.call(DeleteSource { source }).await.expect("delete");
    assert!(app.tickets_by_code(closed).await.is_empty());
    assert!(admin.call(PerformanceSources { performance: closed }).await.expect("attachments").attached.is_empty());
    assert!(admin.call(InstitutionSources { institution }).await.expect("list").is_empty());
}
on_both_backends!(refreshes_stop_at_the_import_end_and_a_deleted_source_takes_its_tickets);

async fn resave(admin: &Client, institution: InstitutionId, source: SourceId, settings: FieldValues, secrets: FieldValues) -> Result<SourceId, AppError> {
    let (kind, name, periods) = (SourceKind::Shotgun, "Shotgun".to_owned(), Default::default());
    admin.call(SaveSource { institution, source: Some(source), kind, name, settings, secrets, periods }).await
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
    let source = save_source(&admin, institution, SourceKind::Shotgun, "Shotgun", fields([("organizer_id", "42"), ("api_url", &partner.url)]), fields([("token", token)]))
        .await
        .expect("source");

    // The same addresses and a blank secret: the stored token is kept.
    resave(&admin, institution, source, fields([("organizer_id", "42"), ("api_url", &partner.url)]), fields([("token", "")])).await.expect("kept");
    // Another address (tickets or scans) and a blank secret: refused, naming the secret.
    for settings in [
        fields([("organizer_id", "42"), ("api_url", &listener.url)]),
        fields([("organizer_id", "42"), ("api_url", &partner.url), ("push_url", &format!("{}/scans", listener.url))]),
        fields([("organizer_id", "42")]),
    ] {
        let moved = resave(&admin, institution, source, settings.clone(), fields([("token", " ")])).await;
        assert!(matches!(&moved, Err(AppError::SourceSettings { field, .. }) if field == "token"), "{settings:?}: {moved:?}");
    }
    attach(&admin, performance, source, fields([("event_id", "5")])).await.expect("attach");
    app.partners.refresh_due().await.expect("refresh");
    assert_eq!(listener.ticket_requests(), 0, "the token never went to the new address");
    assert_eq!(app.tickets_by_code(performance).await.len(), 1, "the source still reads its partner");

    // Typed again, the new address is taken.
    resave(&admin, institution, source, fields([("organizer_id", "42"), ("api_url", &listener.url)]), fields([("token", "a-new-token")]))
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
        let saved = save_source(&admin, institution, SourceKind::Shotgun, "Shotgun", fields([("organizer_id", "5"), (field, &address)]), fields([("token", "tok")])).await;
        assert!(matches!(&saved, Err(AppError::SourceSettings { field: named, .. }) if named == field), "{address}: {saved:?}");
    }
    // Shotgun's own address is fine.
    save_source(&admin, institution, SourceKind::Shotgun, "Shotgun", fields([("organizer_id", "5")]), fields([("token", "tok")])).await.expect("public https");

    // An address stored before (or around) the check is refused when the request is made.
    let sealed = app.partners.secrets.seal(&[("token".to_owned(), "tok".to_owned())].into_iter().collect());
    let settings = [("organizer_id", "5".to_owned()), ("api_url", shotgun.url.clone())].into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    let new = app::ssr::storage::NewSource {
        institution,
        kind: SourceKind::Shotgun,
        name: "Stored".to_owned(),
        settings,
        sealed_secrets: Some(sealed),
        periods: app::domain::RefreshPeriods { long_minutes: 240, short_minutes: 5, short_window_hours: 24 },
    };
    let stored = app.storage.create_source(&new).await.expect("stored address");
    let options = [("event_id".to_owned(), "50".to_owned())].into_iter().collect();
    app.storage.attach_source(performance, stored, &options, app::ssr::now_millis()).await.expect("attach");
    app.partners.refresh_due().await.expect("refresh");
    assert_eq!(shotgun.ticket_requests(), 0, "no request to a private address");
    let error = admin.attachment(performance).await.last_error.unwrap_or_default();
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
    let web = save_source(&admin, institution, SourceKind::Shotgun, "Shotgun", fields([("organizer_id", "5"), ("api_url", &shotgun.url)]), fields([("token", "tok")]))
        .await
        .expect("shotgun");
    let file = save_source(&admin, institution, SourceKind::File, "Billetterie", fields([]), fields([])).await.expect("file");
    attach(&admin, performance, web, fields([("event_id", "50")])).await.expect("attach");
    admin.call(CreateLogin { institution, login: "office".into(), password: PASSWORD.into(), rights: CLERK }).await.expect("login");
    let office = app.signed_in("office", PASSWORD).await;

    let seen = office.call(PerformanceSources { performance }).await.expect("attachments");
    assert_eq!(seen.attached.len(), 1, "{seen:?}");
    assert!(seen.available.is_empty(), "no settings of other sources");
    assert!(!seen.manage);
    assert!(!format!("{seen:?}").contains(&shotgun.url), "{seen:?}");
    assert_eq!(attach(&office, performance, file, fields([])).await, Err(AppError::Forbidden), "sources/attach");
    assert_eq!(office.call(DetachSource { performance, source: web, passes_confirmed: None }).await, Err(AppError::Forbidden), "sources/detach");
    assert_eq!(office.call(RefreshSource { performance, source: web }).await, Err(AppError::Forbidden), "sources/refresh");
    let by_admin = admin.call(PerformanceSources { performance }).await.expect("attachments");
    assert_eq!(by_admin.available.len(), 1);
    assert!(by_admin.manage);
    assert_eq!(by_admin.attached.len(), 1, "nothing was detached");
}
on_both_backends!(only_admins_see_source_settings_and_run_sources);
