//! Back-office housekeeping over HTTP, on both databases: undated performances, editing
//! venues, events and performances, archiving, the two-year purge, and root's usage report.

use crate::support;

use app::error::AppError;
use serde_json::json;
use support::ADMIN_PASSWORD;

async fn archive_purge_and_usage(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let root = app.storage.root_institution().await.expect("root").expect("exists").id;
    let institution = admin.call("create_institution", json!({"parent": root, "name": "Musée"})).await.expect("inst")["id"].clone();
    let venue = admin.call("create_venue", json!({"institution": institution, "name": "Galerie", "time_zone": "Europe/Paris"})).await.expect("venue");
    let event = admin.call("create_event", json!({"venue": venue, "name": "Exposition"})).await.expect("event");
    let undated = admin
        .call("create_performance", json!({"event": event, "label": "Pass été", "starts_at": null,
                                           "valid_from": "2030-06-01T09:00", "valid_to": "2030-08-31T18:00", "import_end": null}))
        .await
        .expect("undated performance");
    let old = admin
        .call("create_performance", json!({"event": event, "label": "", "starts_at": "2020-01-10T20:00",
                                           "valid_from": null, "valid_to": null, "import_end": null}))
        .await
        .expect("old performance");
    let grid = |archived: bool| admin.call("performance_grid", json!({"institution": institution, "with_archived": archived}));
    let rows = grid(false).await.expect("grid");
    let summer = rows.as_array().expect("rows").iter().find(|r| r["performance"] == undated).cloned().expect("listed");
    assert!(summer["starts_at"].is_null());
    assert_eq!(summer["window"][0].as_i64(), Some(1_906_527_600_000), "09:00 in Paris on 1 June 2030 is 07:00 UTC");

    // Venues, events and performances are edited in place.
    admin.call("rename_venue", json!({"venue": venue, "name": "Grande galerie"})).await.expect("rename venue");
    admin.call("rename_event", json!({"event": event, "name": "Exposition d'été"})).await.expect("rename event");
    let dates = |from: Option<&str>| json!({"performance": undated, "label": "Pass été 2030", "starts_at": null,
                                            "valid_from": from, "valid_to": "2030-08-31T18:00", "import_end": "2030-08-01T00:00"});
    let no_dates = admin.call("update_performance", dates(None)).await;
    assert!(matches!(&no_dates, Err(AppError::InvalidInput { field, .. }) if field == "starts_at"), "{no_dates:?}");
    admin.call("update_performance", dates(Some("2030-06-02T09:00"))).await.expect("update");
    let rows = grid(false).await.expect("grid");
    let summer = rows.as_array().expect("rows").iter().find(|r| r["performance"] == undated).cloned().expect("listed");
    assert_eq!((summer["venue"].as_str(), summer["event"].as_str(), summer["label"].as_str()),
               (Some("Grande galerie"), Some("Exposition d'été"), Some("Pass été 2030")));
    assert_eq!(summer["window"][0].as_i64(), Some(1_906_527_600_000 + 86_400_000), "a day later");
    assert_eq!(summer["import_end"].as_i64(), Some(1_911_765_600_000), "midnight in Paris on 1 August 2030");

    // Archived: hidden unless asked for.
    admin.call("set_archived", json!({"performance": undated, "archived": true})).await.expect("archive");
    assert!(!grid(false).await.expect("grid").to_string().contains("Pass été"));
    assert!(grid(true).await.expect("grid").to_string().contains("Pass été"));

    // A download to a device counts as use for root's report; then the purge.
    admin.call("set_pda_open", json!({"performance": old, "open": true})).await.expect("PDA");
    admin
        .call("sync_snapshot", json!({"performance": old}))
        .await
        .expect("snapshot");
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let usage = admin.call("usage_report", json!({"from": month, "to": month})).await.expect("usage");
    assert_eq!(usage, json!([{"month": month, "institution": "Musée", "login": "admin"}]));

    // Finding 13 of the security review: a date typed two years back deleted the performance
    // at the next purge. Only an archived one goes.
    let purged = server::housekeeping::purge_once(app.storage.as_ref(), chrono::Utc::now()).await.expect("purge");
    assert!(purged.is_empty(), "a performance not archived stays, whatever its date: {purged:?}");
    assert_eq!(grid(true).await.expect("grid").as_array().map(Vec::len), Some(2));
    admin.call("set_archived", json!({"performance": old, "archived": true})).await.expect("archive");
    let purged = server::housekeeping::purge_once(app.storage.as_ref(), chrono::Utc::now()).await.expect("purge");
    assert_eq!(purged.len(), 1, "the archived 2020 performance goes; the archived 2030 pass stays");
    assert_eq!(json!(purged[0].0), old);
    let left = grid(true).await.expect("grid");
    assert_eq!(left.as_array().map(Vec::len), Some(1));

    // The usage report is root's.
    admin
        .call("create_login", json!({"institution": institution, "login": "curator", "password": "a long enough password",
                                     "rights": {"admin": true, "pda": true, "backoffice": true}}))
        .await
        .expect("login");
    let curator = app.signed_in("curator", "a long enough password").await;
    assert_eq!(curator.call("usage_report", json!({"from": month, "to": month})).await, Err(AppError::Forbidden));
}
on_both_backends!(archive_purge_and_usage);
