//! The back office's performance grid over HTTP: venues, events, performances in the venue's
//! time zone, the PDA box, counters, and rights.

use crate::support;

use app::ssr::storage::NewTicket;
use app::engine::{Barcode, Direction, Mode, PerformanceId, Refusal, TicketState, Verdict};
use app::error::AppError;
use app::sync::protocol::{Door, ScanRequest};
use support::api::{
    CategoryFilters, CreateEvent, CreateInstitution, CreateLogin, CreatePerformance, CreateVenue, PerformanceGrid, Scan, SetCategoryFilters,
    SetPdaOpen,
};
use support::world::{DOOR, World};
use support::{ADMIN_PASSWORD, Client, PASSWORD};

/// The admin's scan of `barcode` at a door of `performance` counting in `mode`.
async fn scan(admin: &Client, performance: PerformanceId, mode: Mode, scan_id: &str, barcode: &str) -> Verdict {
    let door = Door { performances: vec![performance], mode, gate: None };
    let request = ScanRequest { scan_id: scan_id.into(), barcode: barcode.into(), device: "d".into(), client_time: 0, door };
    admin.call(Scan { request }).await.expect("scan").verdict
}

async fn the_grid_counts_admissions(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let root = app.storage.root_institution().await.expect("root").expect("exists").id;
    let institution = admin.call(CreateInstitution { parent: root, name: "Théâtre".into() }).await.expect("inst").id;

    assert!(matches!(
        admin.call(CreateVenue { institution, name: "Salle".into(), time_zone: "Mars/Olympus".into() }).await,
        Err(AppError::InvalidInput { .. })
    ));
    let venue = admin.call(CreateVenue { institution, name: "Grande salle".into(), time_zone: "Europe/Paris".into() }).await.expect("venue");
    let event = admin.call(CreateEvent { venue, name: "Carmen".into() }).await.expect("event");
    let performance = admin
        .call(CreatePerformance {
            event,
            label: String::new(),
            starts_at: Some("2026-12-31T20:30".into()),
            valid_from: None,
            valid_to: None,
            import_end: Some("2026-12-31T18:00".into()),
        })
        .await
        .expect("performance");
    app.storage
        .upsert_tickets(
            performance,
            &["G1", "G2", "G3", "G4"].map(|b| NewTicket { barcode: Barcode::parse(b).expect("code"), state: TicketState::Valid, category: "general".into(), holder: None }),
            1,
        )
        .await
        .expect("tickets");
    admin.call(SetPdaOpen { performance, open: true }).await.expect("tick PDA");
    scan(&admin, performance, Mode::SinglePass, "g-1", "G1").await;

    let grid = admin.call(PerformanceGrid { institution, with_archived: false }).await.expect("grid");
    let row = &grid[0];
    assert_eq!(row.performance, performance);
    assert_eq!((row.event.as_str(), row.venue.as_str()), ("Carmen", "Grande salle"));
    // 20:30 in Paris on 31 December is 19:30 UTC.
    assert_eq!(row.starts_at, Some(1_798_745_400_000));
    assert_eq!((row.admitted, row.total, row.pda_open), (1, 4, true));

    // Issue 17, item 5: the admitted ticket cancelled afterwards keeps its pass and still counts
    // in the total, so the gauge never shows more admitted than total (it showed 1 / 3).
    let cancel = |barcode: &str| NewTicket { barcode: Barcode::parse(barcode).expect("code"), state: TicketState::Cancelled, category: "general".into(), holder: None };
    app.storage.upsert_tickets(performance, &[cancel("G1"), cancel("G2")], 2).await.expect("cancelled");
    let grid = admin.call(PerformanceGrid { institution, with_archived: false }).await.expect("grid");
    assert_eq!((grid[0].admitted, grid[0].total), (1, 3), "G2, never admitted, leaves the total");
    assert_eq!(app.storage.admission_counts(performance).await.expect("counts"), (1, 3));

    // A scanner-only login sees no grid.
    admin.call(CreateLogin { institution, login: "door".into(), password: PASSWORD.into(), rights: DOOR }).await.expect("login");
    let door = app.signed_in("door", PASSWORD).await;
    assert_eq!(door.call(PerformanceGrid { institution, with_archived: false }).await, Err(AppError::Forbidden));
    assert_eq!(door.call(SetPdaOpen { performance, open: false }).await, Err(AppError::Forbidden));
    assert_eq!(door.call(CreateVenue { institution, name: "X".into(), time_zone: "UTC".into() }).await, Err(AppError::Forbidden));
}
on_both_backends!(the_grid_counts_admissions);

async fn category_filters_refuse_excluded_tickets(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let built = World::new(&app)
        .institution("Club")
        .venue("Club", "Europe/Paris")
        .event("Night")
        .performance("Friday", "2026-12-04T23:00")
        .tickets(&[("V1", TicketState::Valid, "vip"), ("V2", TicketState::Valid, "vip"), ("G1", TicketState::Valid, "general")])
        .pda_open()
        .build()
        .await;
    let (admin, institution, performance) = (built.admin, built.institution, built.performance);
    let entry = Mode::EntryExit { direction: Direction::In };
    assert!(scan(&admin, performance, entry, "f1", "V1").await.is_accepted());

    let categories = |filtered: [bool; 2]| vec![("general".to_owned(), filtered[0]), ("vip".to_owned(), filtered[1])];
    assert_eq!(admin.call(CategoryFilters { performance }).await.expect("categories"), categories([false, false]));
    admin.call(SetCategoryFilters { performance, excluded: vec!["vip".into()] }).await.expect("filter");
    assert_eq!(admin.call(CategoryFilters { performance }).await.expect("categories"), categories([false, true]));
    let refused = scan(&admin, performance, entry, "f2", "V2").await;
    assert!(matches!(refused, Verdict::Refused { reason: Refusal::FilteredCategory { .. } }), "{refused:?}");
    let inside = scan(&admin, performance, entry, "f3", "V1").await;
    assert_eq!(inside, Verdict::Refused { reason: Refusal::AlreadyInside }, "a filtered ticket already in gets the standard answer");
    assert!(scan(&admin, performance, entry, "f4", "G1").await.is_accepted());
    let grid = admin.call(PerformanceGrid { institution, with_archived: false }).await.expect("grid");
    assert_eq!((grid[0].admitted, grid[0].total), (2, 3), "filtered tickets still count");
}
on_both_backends!(category_filters_refuse_excluded_tickets);
