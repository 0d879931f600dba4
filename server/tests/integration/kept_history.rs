//! History is never erased by configuration, over HTTP on both databases: detaching a source
//! and importing again keeps every pass, so a used ticket is not let in a second time.

use crate::support;

use app::domain::SourceKind;
use app::engine::{Mode, PerformanceId, Refusal, Verdict};
use app::sync::protocol::{Door, ScanRequest};
use support::api::{DetachSource, Scan, SetPdaOpen};
use support::{ADMIN_PASSWORD, Client, fields};

async fn scan(client: &Client, scan_id: &str, barcode: &str, performance: PerformanceId) -> Verdict {
    let door = Door { performances: vec![performance], mode: Mode::SinglePass, gate: None };
    let request = ScanRequest { scan_id: scan_id.into(), barcode: barcode.into(), device: "gate-1".into(), client_time: 1_780_000_000_000, door };
    client.call(Scan { request }).await.expect("scan").verdict
}

/// Finding 5 of the security review: detach, re-import, and A1 was admitted a second time;
/// the passes of A2 were gone from the report.
async fn a_detached_and_reimported_ticket_is_still_already_scanned(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let (institution, performance) = app.a_performance(&admin, "Théâtre").await;
    admin.call(SetPdaOpen { performance, open: true }).await.expect("open");
    let source = admin.a_source(institution, SourceKind::File, "Fichier", fields([])).await;
    let file = b"barcode,category\nA1,general\nA2,general\nA3,general\n";
    let (status, answer) = admin.upload(performance, source, "t.csv", false, file).await;
    assert_eq!(status, 200, "{answer:?}");

    assert!(scan(&admin, "h1", "A1", performance).await.is_accepted());
    assert!(scan(&admin, "h2", "A2", performance).await.is_accepted());
    // Detaching a source whose tickets were admitted asks for the number of passes first.
    assert_eq!(
        admin.call(DetachSource { performance, source, passes_confirmed: None }).await,
        Err(app::error::AppError::DetachNeedsConfirmation { passes: 2 })
    );
    assert_eq!(admin.attachment(performance).await.passes, 2);
    admin.call(DetachSource { performance, source, passes_confirmed: Some(2) }).await.expect("detach");
    // While detached no number passes: a scanned one is kept (of no source, state unknown),
    // one never scanned is gone.
    assert_eq!(scan(&admin, "h3", "A1", performance).await, Verdict::Refused { reason: Refusal::UnknownStateTicket });
    assert_eq!(scan(&admin, "h4", "A3", performance).await, Verdict::Refused { reason: Refusal::UnknownNumber });

    let (status, answer) = admin.upload(performance, source, "t.csv", false, file).await;
    assert_eq!(status, 200, "{answer:?}");
    assert!(
        matches!(scan(&admin, "h5", "A1", performance).await, Verdict::Refused { reason: Refusal::AlreadyScanned { .. } }),
        "a ticket admitted before the detach is already scanned after the re-import"
    );
    assert!(scan(&admin, "h6", "A3", performance).await.is_accepted(), "a ticket never scanned comes back fresh");
    let tickets = app.tickets_by_code(performance).await;
    assert_eq!(tickets.len(), 3);
    let (admitted, total) = app.storage.admission_counts(performance).await.expect("counts");
    assert_eq!((admitted, total), (3, 3), "A1, A2 and A3 each admitted once");
    let scans = app.storage.scans_since(&[performance], 0).await.expect("scans");
    let count = |code: &str| scans.iter().filter(|s| s.barcode.as_str() == code).count();
    assert_eq!((count("A1"), count("A2")), (3, 1), "every scan of a ticket that was detached is kept");
}
on_both_backends!(a_detached_and_reimported_ticket_is_still_already_scanned);
