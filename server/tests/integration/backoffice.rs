//! Back-office housekeeping over HTTP, on both databases: undated performances, editing
//! venues, events and performances, archiving, the two-year purge, and root's usage report.

use crate::support;

use app::domain::Rights;
use app::error::AppError;
use app::pages::backoffice::usage::UsageRow;
use support::api::{
    CreateEvent, CreateInstitution, CreateLogin, CreatePerformance, CreateVenue, PerformanceGrid, RenameEvent, RenameVenue,
    SetArchived, SetPdaOpen, SyncSnapshot, UpdatePerformance, UsageReport,
};
use support::{ADMIN_PASSWORD, PASSWORD};

async fn archive_purge_and_usage(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let root = app.storage.root_institution().await.expect("root").expect("exists").id;
    let institution = admin.call(CreateInstitution { parent: root, name: "Musée".into() }).await.expect("inst").id;
    let venue = admin.call(CreateVenue { institution, name: "Galerie".into(), time_zone: "Europe/Paris".into() }).await.expect("venue");
    let event = admin.call(CreateEvent { venue, name: "Exposition".into() }).await.expect("event");
    let undated = admin
        .call(CreatePerformance {
            event,
            label: "Pass été".into(),
            starts_at: None,
            valid_from: Some("2030-06-01T09:00".into()),
            valid_to: Some("2030-08-31T18:00".into()),
            import_end: None,
        })
        .await
        .expect("undated performance");
    let old = admin
        .call(CreatePerformance {
            event,
            label: String::new(),
            starts_at: Some("2020-01-10T20:00".into()),
            valid_from: None,
            valid_to: None,
            import_end: None,
        })
        .await
        .expect("old performance");
    let grid = |with_archived: bool| admin.call(PerformanceGrid { institution, with_archived });
    let rows = grid(false).await.expect("grid");
    let summer = rows.iter().find(|r| r.performance == undated).cloned().expect("listed");
    assert!(summer.starts_at.is_none());
    assert_eq!(summer.window.map(|w| w.0), Some(1_906_527_600_000), "09:00 in Paris on 1 June 2030 is 07:00 UTC");

    // Venues, events and performances are edited in place.
    admin.call(RenameVenue { venue, name: "Grande galerie".into() }).await.expect("rename venue");
    admin.call(RenameEvent { event, name: "Exposition d'été".into() }).await.expect("rename event");
    let dates = |from: Option<&str>| UpdatePerformance {
        performance: undated,
        label: "Pass été 2030".into(),
        starts_at: None,
        valid_from: from.map(str::to_owned),
        valid_to: Some("2030-08-31T18:00".into()),
        import_end: Some("2030-08-01T00:00".into()),
    };
    let no_dates = admin.call(dates(None)).await;
    assert!(matches!(&no_dates, Err(AppError::InvalidInput { field, .. }) if field == "starts_at"), "{no_dates:?}");
    admin.call(dates(Some("2030-06-02T09:00"))).await.expect("update");
    let rows = grid(false).await.expect("grid");
    let summer = rows.iter().find(|r| r.performance == undated).cloned().expect("listed");
    assert_eq!((summer.venue.as_str(), summer.event.as_str(), summer.label.as_str()), ("Grande galerie", "Exposition d'été", "Pass été 2030"));
    assert_eq!(summer.window.map(|w| w.0), Some(1_906_527_600_000 + 86_400_000), "a day later");
    assert_eq!(summer.import_end, Some(1_911_765_600_000), "midnight in Paris on 1 August 2030");

    // Archived: hidden unless asked for.
    admin.call(SetArchived { performance: undated, archived: true }).await.expect("archive");
    let listed = |rows: Vec<app::domain::GridRow>| rows.iter().any(|r| r.label.contains("Pass été"));
    assert!(!listed(grid(false).await.expect("grid")));
    assert!(listed(grid(true).await.expect("grid")));

    // A download to a device counts as use for root's report; then the purge.
    admin.call(SetPdaOpen { performance: old, open: true }).await.expect("PDA");
    admin.call(SyncSnapshot { performance: old }).await.expect("snapshot");
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let usage = admin.call(UsageReport { from: month.clone(), to: month.clone() }).await.expect("usage");
    assert_eq!(usage, vec![UsageRow { month: month.clone(), institution: "Musée".into(), login: "admin".into() }]);

    // Finding 13 of the security review: a date typed two years back deleted the performance
    // at the next purge. Only an archived one goes.
    let purged = server::housekeeping::purge_once(app.storage.as_ref(), chrono::Utc::now()).await.expect("purge");
    assert!(purged.is_empty(), "a performance not archived stays, whatever its date: {purged:?}");
    assert_eq!(grid(true).await.expect("grid").len(), 2);
    admin.call(SetArchived { performance: old, archived: true }).await.expect("archive");
    let purged = server::housekeeping::purge_once(app.storage.as_ref(), chrono::Utc::now()).await.expect("purge");
    assert_eq!(purged.len(), 1, "the archived 2020 performance goes; the archived 2030 pass stays");
    assert_eq!(purged[0], old);
    assert_eq!(grid(true).await.expect("grid").len(), 1);

    // The usage report is root's.
    let rights = Rights { admin: true, pda: true, backoffice: true };
    admin.call(CreateLogin { institution, login: "curator".into(), password: PASSWORD.into(), rights }).await.expect("login");
    let curator = app.signed_in("curator", PASSWORD).await;
    assert_eq!(curator.call(UsageReport { from: month.clone(), to: month }).await, Err(AppError::Forbidden));
}
on_both_backends!(archive_purge_and_usage);
