//! The back office's performance grid over HTTP: venues, events, performances in the venue's
//! time zone, the PDA box, counters, and rights.

use crate::support;

use app::ssr::storage::NewTicket;
use app::engine::{Barcode, TicketState};
use app::error::AppError;
use serde_json::json;
use support::ADMIN_PASSWORD;

async fn the_grid_counts_admissions(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let root = app.storage.root_institution().await.expect("root").expect("exists").id;
    let institution = admin.call("create_institution", json!({"parent": root, "name": "Théâtre"})).await.expect("inst")["id"].clone();

    assert!(matches!(
        admin.call("create_venue", json!({"institution": institution, "name": "Salle", "time_zone": "Mars/Olympus"})).await,
        Err(AppError::InvalidInput { .. })
    ));
    let venue = admin.call("create_venue", json!({"institution": institution, "name": "Grande salle", "time_zone": "Europe/Paris"})).await.expect("venue");
    let event = admin.call("create_event", json!({"venue": venue, "name": "Carmen"})).await.expect("event");
    let performance = admin
        .call("create_performance", json!({"event": event, "label": "", "starts_at": "2026-12-31T20:30",
                                           "valid_from": null, "valid_to": null, "import_end": "2026-12-31T18:00"}))
        .await
        .expect("performance");
    let id = app::engine::PerformanceId(performance.as_i64().expect("id"));
    app.storage
        .upsert_tickets(
            id,
            &["G1", "G2", "G3", "G4"].map(|b| NewTicket { barcode: Barcode::parse(b).expect("code"), state: TicketState::Valid, category: "general".into(), holder: None }),
            1,
        )
        .await
        .expect("tickets");
    admin.call("set_pda_open", json!({"performance": performance, "open": true})).await.expect("tick PDA");
    admin
        .call("scan", json!({"request": {"scan_id": "g-1", "barcode": "G1", "device": "d", "client_time": 0,
                                         "door": {"performances": [performance], "mode": {"mode": "single_pass"}}}}))
        .await
        .expect("scan");

    let grid = admin.call("performance_grid", json!({"institution": institution, "with_archived": false})).await.expect("grid");
    let row = &grid[0];
    assert_eq!((row["event"].as_str(), row["venue"].as_str()), (Some("Carmen"), Some("Grande salle")));
    // 20:30 in Paris on 31 December is 19:30 UTC.
    assert_eq!(row["starts_at"].as_i64(), Some(1_798_745_400_000));
    assert_eq!((row["admitted"].as_u64(), row["total"].as_u64(), row["pda_open"].as_bool()), (Some(1), Some(4), Some(true)));

    // Issue 17, item 5: the admitted ticket cancelled afterwards keeps its pass and still counts
    // in the total, so the gauge never shows more admitted than total (it showed 1 / 3).
    let cancel = |barcode: &str| NewTicket { barcode: Barcode::parse(barcode).expect("code"), state: TicketState::Cancelled, category: "general".into(), holder: None };
    app.storage.upsert_tickets(id, &[cancel("G1"), cancel("G2")], 2).await.expect("cancelled");
    let grid = admin.call("performance_grid", json!({"institution": institution, "with_archived": false})).await.expect("grid");
    assert_eq!((grid[0]["admitted"].as_u64(), grid[0]["total"].as_u64()), (Some(1), Some(3)), "G2, never admitted, leaves the total");
    assert_eq!(app.storage.admission_counts(id).await.expect("counts"), (1, 3));

    // A scanner-only login sees no grid.
    admin
        .call("create_login", json!({"institution": institution, "login": "door", "password": "a long enough password",
                                     "rights": {"admin": false, "pda": true, "backoffice": false}}))
        .await
        .expect("login");
    let door = app.signed_in("door", "a long enough password").await;
    assert_eq!(door.call("performance_grid", json!({"institution": institution, "with_archived": false})).await, Err(AppError::Forbidden));
    assert_eq!(door.call("set_pda_open", json!({"performance": performance, "open": false})).await, Err(AppError::Forbidden));
    assert_eq!(door.call("create_venue", json!({"institution": institution, "name": "X", "time_zone": "UTC"})).await, Err(AppError::Forbidden));
}
on_both_backends!(the_grid_counts_admissions);

async fn category_filters_refuse_excluded_tickets(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let root = app.storage.root_institution().await.expect("root").expect("exists").id;
    let institution = admin.call("create_institution", json!({"parent": root, "name": "Club"})).await.expect("inst")["id"].clone();
    let venue = admin.call("create_venue", json!({"institution": institution, "name": "Club", "time_zone": "Europe/Paris"})).await.expect("venue");
    let event = admin.call("create_event", json!({"venue": venue, "name": "Night"})).await.expect("event");
    let performance = admin
        .call("create_performance", json!({"event": event, "label": "Friday", "starts_at": "2026-12-04T23:00",
                                           "valid_from": null, "valid_to": null, "import_end": null}))
        .await
        .expect("performance");
    let id = app::engine::PerformanceId(performance.as_i64().expect("id"));
    let tickets = [("V1", "vip"), ("V2", "vip"), ("G1", "general")]
        .map(|(b, c)| NewTicket { barcode: Barcode::parse(b).expect("code"), state: TicketState::Valid, category: c.into(), holder: None });
    app.storage.upsert_tickets(id, &tickets, 1).await.expect("tickets");
    admin.call("set_pda_open", json!({"performance": performance, "open": true})).await.expect("open");
    let scan = |scan_id: &'static str, barcode: &'static str| {
        json!({"request": {"scan_id": scan_id, "barcode": barcode, "device": "d", "client_time": 0,
                           "door": {"performances": [performance], "mode": {"mode": "entry_exit", "direction": "in"}}}})
    };
    assert_eq!(admin.call("scan", scan("f1", "V1")).await.expect("scan")["verdict"]["verdict"], json!("accepted"));

    assert_eq!(
        admin.call("category_filters", json!({"performance": performance})).await.expect("categories"),
        json!([["general", false], ["vip", false]])
    );
    admin.call("set_category_filters", json!({"performance": performance, "excluded": ["vip"]})).await.expect("filter");
    assert_eq!(
        admin.call("category_filters", json!({"performance": performance})).await.expect("categories"),
        json!([["general", false], ["vip", true]])
    );
    let refused = admin.call("scan", scan("f2", "V2")).await.expect("scan");
    assert_eq!(refused["verdict"]["reason"], json!("filtered_category"));
    let inside = admin.call("scan", scan("f3", "V1")).await.expect("scan");
    assert_eq!(inside["verdict"]["reason"], json!("already_inside"), "a filtered ticket already in gets the standard answer");
    assert_eq!(admin.call("scan", scan("f4", "G1")).await.expect("scan")["verdict"]["verdict"], json!("accepted"));
    let grid = admin.call("performance_grid", json!({"institution": institution, "with_archived": false})).await.expect("grid");
    assert_eq!((grid[0]["admitted"].as_u64(), grid[0]["total"].as_u64()), (Some(2), Some(3)), "filtered tickets still count");
}
on_both_backends!(category_filters_refuse_excluded_tickets);
